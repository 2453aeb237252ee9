// The App API's answers, as the console reads them (only the fields it shows).

export type Role = "admin" | "author" | "viewer";

export interface Workspace {
  id: string;
  name: string;
  role: Role;
}

export interface Session {
  email: string;
  workspaces: Workspace[];
}

export interface PersonIdentifier {
  id: string | null;
  email: string | null;
  cio_id: string;
  created_at?: number;
}

export interface PeoplePage {
  identifiers: PersonIdentifier[];
  ids: string[];
  next: string;
}

export interface Device {
  id: string;
  platform?: string;
  last_used?: number;
  attributes?: Record<string, unknown>;
}

export interface Customer {
  id: string | null;
  identifiers: { id: string | null; email: string | null; cio_id: string };
  attributes: Record<string, unknown>;
  created_at: number;
  updated_at: number;
  unsubscribed: boolean;
  devices: Device[];
}

export interface Segment {
  id: string | number;
  name: string;
  description?: string;
  type?: string;
  state?: string;
  progress?: number;
  conditions?: unknown;
}

export interface Message {
  id: string;
  channel?: string;
  type?: string;
  state?: string;
  metrics?: Record<string, number>;
  campaign_id?: string | number | null;
  recipient?: string;
  subject?: string;
  created?: number;
  customer_id?: string | null;
  failure_message?: string | null;
  [key: string]: unknown;
}

export interface MessagesPage {
  messages: Message[];
  next: string;
}

export interface ArchivedMessage {
  id: string;
  type: string;
  recipient: string | null;
  created: number | null;
  forgotten: boolean;
  subject: string | null;
  body: string | null;
  body_plain: string | null;
}

export interface Campaign {
  id: string | number;
  name: string;
  state?: string;
  [key: string]: unknown;
}

export interface InvoiceLine {
  description: string;
  quantity: number;
  amount_cents: number;
}

export interface Tax {
  location: string | null;
  exempt: boolean;
  rate_basis_points: number;
  amount_cents: number;
}

export interface BillingUsage {
  plan: { id: string; name: string; billed: "monthly" | "annually" };
  period: { start: string; end: string };
  usage: Record<string, unknown>;
  estimate: { lines: InvoiceLine[]; subtotal_cents: number; tax: Tax; total_cents: number };
}

export interface InvoiceSummary {
  id: string;
  period: { start: string; end: string };
  issued_on: string;
  plan: string;
  total_cents: number;
  currency: string;
}

export interface Invoice extends InvoiceSummary {
  usage: Record<string, unknown>;
  lines: InvoiceLine[];
  subtotal_cents: number;
  tax: Tax;
}

export interface SegmentPreview {
  count: number;
  approximate: boolean;
  evaluated: number;
  matched: number;
  sample: PersonIdentifier[];
}

export interface Overview {
  people: number;
  active_campaigns: number;
  period: { start: string; end: string };
  messages_by_channel: Record<string, number>;
  messages_per_day: { day: string; count: number }[];
  messages_per_day_complete: boolean;
}
