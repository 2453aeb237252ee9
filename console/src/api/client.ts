// The one place the console talks to the App API: same origin, the session cookie, the workspace header,
// and the App API's error shape turned into messages per field.

export interface ApiErrorItem {
  detail?: string;
  status?: string;
  code?: string; // what to do next, where the status alone does not say (new_password_required)
  source?: { pointer?: string };
}

// "a.b[0].c: " at the start of a message: the field it is shown at already says where.
const FIELD_PATH_PREFIX = /^[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*: /;

/** An answer other than 2xx. `fields` maps a JSON pointer's path ("name", "conditions/and/0") to its message. */
export class ApiError extends Error {
  readonly status: number;
  readonly fields: Record<string, string>;
  readonly code?: string;

  constructor(status: number, message: string, fields: Record<string, string>, code?: string) {
    super(message);
    this.status = status;
    this.fields = fields;
    this.code = code;
  }

  /** The message for a field (a pointer's path without its leading slash), or one nested under it, as
   * shown at that field: without the API's dotted path in front ("conditions.and[1].event.count.value: must
   * be between 0 and 1000" reads "must be between 0 and 1000" under the Times field). */
  field(path: string): string | undefined {
    const key = this.fields[path] ? path : Object.keys(this.fields).find((k) => k.startsWith(path + "/"));
    return key === undefined ? undefined : this.fields[key]?.replace(FIELD_PATH_PREFIX, "");
  }
}

/** Called with every 401 outside sign-in: the session ended (expired, signed out elsewhere). */
let onSessionLost: () => void = () => {};
export function setSessionLostHandler(handler: () => void): void {
  onSessionLost = handler;
}

let workspaceId: string | null = null;
/** The workspace every request acts on (`X-Nudge-Workspace`), chosen after sign-in. */
export function setWorkspace(id: string | null): void {
  workspaceId = id;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
  /** Sign-in answers 401 for a wrong password: that is not a lost session. */
  expectUnauthorized?: boolean;
}

export function pathWithQuery(path: string, query?: RequestOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (workspaceId) headers["x-nudge-workspace"] = workspaceId;
  let answer: Response;
  try {
    answer = await fetch(pathWithQuery(path, options.query), {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "Nudge cannot be reached: check your connection and try again.", {});
  }
  if (answer.status === 204) return undefined as T;
  const text = await answer.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (answer.ok) return body as T;
  if (answer.status === 401 && !options.expectUnauthorized) onSessionLost();
  throw toApiError(answer.status, body);
}

export function toApiError(status: number, body: unknown): ApiError {
  const items: ApiErrorItem[] =
    body && typeof body === "object" && Array.isArray((body as { errors?: unknown }).errors)
      ? ((body as { errors: ApiErrorItem[] }).errors ?? [])
      : [];
  const fields: Record<string, string> = {};
  const general: string[] = [];
  for (const item of items) {
    const detail = item.detail ?? "invalid";
    // "/conditions/and[0]/attribute/field" and "/conditions/and/0/attribute/field" name the same field.
    const pointer = item.source?.pointer?.replace(/^\//, "").replace(/\[(\d+)\]/g, "/$1");
    if (pointer) fields[pointer] ??= detail;
    else general.push(detail);
  }
  const message =
    general[0] ??
    items[0]?.detail ??
    (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string"
      ? (body as { message: string }).message
      : `The request failed (${status}).`);
  return new ApiError(status, message, fields, items.find((item) => item.code)?.code);
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("POST", path, { ...options, body: body ?? {} }),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>("PUT", path, { ...options, body }),
  delete: <T = void>(path: string, options?: RequestOptions) => request<T>("DELETE", path, options),
};

/** A path segment, escaped (ids and emails may hold anything). */
export const seg = encodeURIComponent;
