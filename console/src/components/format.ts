export const number = new Intl.NumberFormat("en-US");

export function money(cents: number, currency = "USD"): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
}

/** Unix seconds (or milliseconds) as a local date and time. */
export function when(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const ms = seconds > 1e12 ? seconds : seconds * 1000;
  return new Date(ms).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

export function show(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

const CHANNEL_NAMES: Record<string, string> = {
  email: "Email",
  sms: "SMS",
  twilio: "SMS",
  push: "Push",
  in_app: "In-app",
  webhook: "Webhook",
};

/** A channel as people say it ("In-app" for in_app). */
export function channelName(channel: string | undefined): string {
  if (channel === undefined) return "—";
  return CHANNEL_NAMES[channel] ?? channel;
}
