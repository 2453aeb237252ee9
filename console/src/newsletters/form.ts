// A newsletter as the Newsletters screen edits it, and its conversions to and from the App API's
// `/v1/newsletters` (README "Newsletters"): the form a marketer fills in, never the JSON.

import type { Condition } from "../segments/conditions";
import { keyOf } from "../segments/conditions";

export interface AbTest {
  test_percent: number;
  metric: "open" | "click";
  wait_seconds: number;
}

export interface Broadcast {
  status: string;
  recipients: number;
  started: number;
  skipped: Record<string, number>;
}

export interface Newsletter {
  id: number;
  name: string;
  type: string;
  content_ids: number[];
  recipient_segment_ids: (number | string)[];
  state: string; // draft, sending, sent, canceled
  scheduled_at: number | null;
  local_time: { date: string; time: string } | null;
  ab_test: AbTest | null;
  subscription_topic_id: number | null;
  recipients?: Condition | null;
  timezone?: string;
  sent_at: number | null;
  created: number;
  updated: number;
  broadcasts: Record<string, Broadcast>;
  winner_content_id: number | null;
}

export interface Content {
  id: number;
  newsletter_id: number;
  [field: string]: unknown;
}

export type Counts = Record<string, number>;

export interface Metrics {
  metric: Counts;
  variants: Record<string, Counts>;
}

/** What a marketer reads per variant, in this order (the API also counts failed). */
export const METRICS = ["sent", "delivered", "opened", "clicked", "converted", "bounced", "unsubscribed"] as const;

/** Each channel's message fields (the API's inline fields), the required ones first. */
export const CHANNEL_FIELDS: Record<string, { key: string; label: string; long: boolean; required: boolean }[]> = {
  email: [
    { key: "subject", label: "Subject", long: false, required: true },
    { key: "from", label: "Sender (from)", long: false, required: false },
    { key: "preheader", label: "Preheader", long: false, required: false },
    { key: "body", label: "Body (HTML)", long: true, required: true },
  ],
  sms: [{ key: "body", label: "Text", long: true, required: true }],
  push: [
    { key: "title", label: "Title", long: false, required: false },
    { key: "message", label: "Message", long: true, required: true },
    { key: "link", label: "Link", long: false, required: false },
  ],
  in_app: [
    { key: "title", label: "Title", long: false, required: false },
    { key: "body", label: "Body", long: true, required: true },
  ],
};
export const CHANNELS = Object.keys(CHANNEL_FIELDS);
export const fieldsOf = (channel: string) => CHANNEL_FIELDS[channel] ?? [];
export const MAX_VARIANTS = 5;

export type Variant = Record<string, string>;
export type WaitUnit = "minutes" | "hours" | "days";

export interface Form {
  name: string;
  channel: string;
  variants: Variant[];
  /** Who it goes to: null is everyone. */
  include: Condition | null;
  /** Who it never goes to, among them: null is no one. */
  exclude: Condition | null;
  abTest: boolean;
  testPercent: number;
  metric: "open" | "click";
  wait: number;
  waitUnit: WaitUnit;
  timezone: string;
  topicId: string;
}

/** "A", "B"... for the variant numbered `contentId` (1-based, the API's content id). */
export const variantName = (contentId: number) => String.fromCharCode(64 + contentId);

export function blankForm(): Form {
  return {
    name: "",
    channel: "email",
    variants: [{ subject: "", body: "" }],
    include: null,
    exclude: null,
    abTest: false,
    testPercent: 20,
    metric: "open",
    wait: 4,
    waitUnit: "hours",
    timezone: "UTC",
    topicId: "",
  };
}

const UNIT_SECONDS: Record<WaitUnit, number> = { minutes: 60, hours: 3600, days: 86400 };

/** Seconds as the largest whole unit. */
export function fromSeconds(seconds: number): { wait: number; waitUnit: WaitUnit } {
  for (const unit of ["days", "hours"] as const) {
    if (seconds >= UNIT_SECONDS[unit] && seconds % UNIT_SECONDS[unit] === 0) return { wait: seconds / UNIT_SECONDS[unit], waitUnit: unit };
  }
  return { wait: Math.round(seconds / 60), waitUnit: "minutes" };
}

/** A wait in words: "1 hour", "90 minutes". */
export function waitText(seconds: number): string {
  const { wait, waitUnit } = fromSeconds(seconds);
  return `${wait} ${wait === 1 ? waitUnit.slice(0, -1) : waitUnit}`;
}

export const toSeconds = (wait: number, unit: WaitUnit) => Math.round(wait * UNIT_SECONDS[unit]);

/** A group of one condition is that condition (so a single segment is sent from its members, not by
 * evaluating everyone). */
function unwrap(condition: Condition): Condition {
  const key = keyOf(condition);
  if ((key === "and" || key === "or") && Array.isArray(condition[key]) && (condition[key] as Condition[]).length === 1) {
    return unwrap((condition[key] as Condition[])[0]!);
  }
  return condition;
}

/** A condition as the builder edits it: always a group it can add to. */
function asGroup(condition: Condition, join: "and" | "or"): Condition {
  const key = keyOf(condition);
  return key === "and" || key === "or" ? condition : { [join]: [condition] };
}

/** The API's `recipients` for who is included and who is excluded. */
export function toRecipients(include: Condition | null, exclude: Condition | null): Condition | null {
  const inc = include && unwrap(include);
  const exc = exclude && unwrap(exclude);
  if (inc && exc) return { and: [inc, { not: exc }] };
  if (exc) return { not: exc };
  return inc;
}

/** Who is included and excluded, from the API's `recipients` (the reverse of `toRecipients`). */
export function fromRecipients(recipients: Condition | null | undefined): { include: Condition | null; exclude: Condition | null } {
  if (!recipients) return { include: null, exclude: null };
  const key = keyOf(recipients);
  if (key === "not") return { include: null, exclude: asGroup(recipients.not as Condition, "or") };
  if (key === "and") {
    const parts = recipients.and as Condition[];
    const last = parts[parts.length - 1];
    if (parts.length === 2 && last && keyOf(last) === "not") {
      return { include: asGroup(parts[0]!, "and"), exclude: asGroup(last.not as Condition, "or") };
    }
  }
  return { include: asGroup(recipients, "and"), exclude: null };
}

/** Where the API's refusals about each part of the audience point (see `toRecipients`). */
export function audiencePaths(form: Pick<Form, "include" | "exclude">): { include: string; exclude: string } {
  const both = form.include !== null && form.exclude !== null;
  return { include: both ? "recipients/and/0" : "recipients", exclude: both ? "recipients/and/1/not" : "recipients/not" };
}

/** The body of `POST /v1/newsletters` (and `PUT /v1/newsletters/{id}`) for the form: always as variants,
 * so refusals point at `variants/<i>/<field>` whatever their number. */
export function toBody(form: Form): Record<string, unknown> {
  const fields = fieldsOf(form.channel);
  const variants = form.variants.map((variant) => {
    const content: Record<string, string> = {};
    for (const field of fields) {
      const value = variant[field.key] ?? "";
      if (value || field.required) content[field.key] = value;
    }
    return content;
  });
  const body: Record<string, unknown> = { name: form.name, type: form.channel, variants, timezone: form.timezone || "UTC" };
  const recipients = toRecipients(form.include, form.exclude);
  if (recipients) body.recipients = recipients;
  if (form.abTest && variants.length > 1) {
    body.ab_test = { test_percent: form.testPercent, metric: form.metric, wait_seconds: toSeconds(form.wait, form.waitUnit) };
  }
  if (form.topicId) body.subscription_topic_id = Number(form.topicId);
  return body;
}

/** The form for a stored newsletter and its contents (`GET .../contents`). */
export function fromNewsletter(newsletter: Newsletter, contents: Content[]): Form {
  const fields = fieldsOf(newsletter.type);
  const variants = [...contents]
    .sort((a, b) => a.id - b.id)
    .map((content) => Object.fromEntries(fields.map((f) => [f.key, typeof content[f.key] === "string" ? (content[f.key] as string) : ""])));
  const test = newsletter.ab_test;
  return {
    ...blankForm(),
    name: newsletter.name,
    channel: newsletter.type,
    variants: variants.length ? variants : [{}],
    ...fromRecipients(newsletter.recipients),
    abTest: test !== null,
    ...(test ? { testPercent: test.test_percent, metric: test.metric, ...fromSeconds(test.wait_seconds) } : {}),
    timezone: newsletter.timezone ?? "UTC",
    topicId: newsletter.subscription_topic_id === null ? "" : String(newsletter.subscription_topic_id),
  };
}

export type SendMode = "now" | "at" | "local";

/** The body of `POST /v1/newsletters/{id}/send`. */
export function scheduleBody(mode: SendMode, at: number | null, local: { date: string; time: string }): Record<string, unknown> {
  if (mode === "at") return { scheduled_at: at };
  if (mode === "local") return { local_time: local };
  return { send_now: true };
}

/** When it goes, in words. */
export function scheduleText(newsletter: Pick<Newsletter, "state" | "scheduled_at" | "local_time" | "timezone" | "sent_at">, when: (seconds: number) => string): string {
  if (newsletter.local_time) return `${newsletter.local_time.date} at ${newsletter.local_time.time} in each person's time zone (else ${newsletter.timezone ?? "UTC"})`;
  if (newsletter.scheduled_at) return `at ${when(newsletter.scheduled_at)}`;
  if (newsletter.state === "draft") return "not scheduled";
  if (newsletter.sent_at) return `now (${when(newsletter.sent_at)})`;
  return "—";
}

/** A rate as a percentage of messages sent, one decimal; "—" before any was sent. */
export function rate(part: number | undefined, sent: number | undefined): string {
  if (!sent) return "—";
  return `${(Math.round(((part ?? 0) / sent) * 1000) / 10).toFixed(1)}%`;
}

/** Whether a cancel can still work: a draft, or one whose broadcasts have not run a page. */
export function cancelable(newsletter: Pick<Newsletter, "state" | "broadcasts">): boolean {
  if (newsletter.state === "draft") return true;
  if (newsletter.state !== "sending") return false;
  return Object.values(newsletter.broadcasts).every((b) => b.status === "queued");
}

/** When the A/B test's winner is chosen (unix seconds), once it is sending. */
export function winnerDue(newsletter: Pick<Newsletter, "ab_test" | "scheduled_at" | "sent_at">): number | null {
  if (!newsletter.ab_test) return null;
  const start = Math.max(newsletter.sent_at ?? 0, newsletter.scheduled_at ?? 0);
  return start ? start + newsletter.ab_test.wait_seconds : null;
}
