import { describe, expect, it } from "vitest";
import { audiencePaths, blankForm, cancelable, fromNewsletter, fromRecipients, fromSeconds, rate, scheduleBody, toBody, toRecipients, waitText, type Newsletter } from "./form";

// The Newsletters screen's form and the App API's body: what a marketer picks becomes the JSON the API
// takes, and a stored draft comes back as the same form.

const segment = (id: string) => ({ segment: { id, operator: "in" } });
const free = { attribute: { field: "plan", operator: "eq", value: "free" } };

describe("the audience", () => {
  it("is everyone without conditions, and a single segment is sent as itself", () => {
    expect(toRecipients(null, null)).toBeNull();
    expect(toRecipients({ and: [segment("7")] }, null)).toEqual(segment("7"));
  });

  it("excludes with not, kept apart from who is included", () => {
    const recipients = toRecipients({ and: [segment("7")] }, { or: [free] });
    expect(recipients).toEqual({ and: [segment("7"), { not: free }] });
    expect(fromRecipients(recipients)).toEqual({ include: { and: [segment("7")] }, exclude: { or: [free] } });
    expect(toRecipients(null, { or: [segment("3"), free] })).toEqual({ not: { or: [segment("3"), free] } });
    expect(fromRecipients({ not: { or: [segment("3"), free] } })).toEqual({ include: null, exclude: { or: [segment("3"), free] } });
  });

  it("reads a filter written through the API as conditions to include", () => {
    const written = { or: [segment("1"), segment("2"), { not: free }] };
    expect(fromRecipients(written)).toEqual({ include: written, exclude: null });
    expect(fromRecipients(free)).toEqual({ include: { and: [free] }, exclude: null });
  });

  it("says where the API points its refusals for each part", () => {
    expect(audiencePaths({ include: { and: [] }, exclude: null })).toEqual({ include: "recipients", exclude: "recipients/not" });
    expect(audiencePaths({ include: { and: [] }, exclude: { or: [] } }).exclude).toBe("recipients/and/1/not");
  });
});

describe("the body", () => {
  it("sends the channel's fields, the required ones even empty, as variants", () => {
    const form = { ...blankForm(), name: "Weekly", variants: [{ subject: "Hi", body: "", from: "", preheader: "soon", title: "not email" }] };
    expect(toBody(form)).toEqual({ name: "Weekly", type: "email", timezone: "UTC", variants: [{ subject: "Hi", body: "", preheader: "soon" }] });
  });

  it("carries an A/B test only with two variants or more, its wait in seconds", () => {
    const form = { ...blankForm(), name: "Launch", abTest: true, testPercent: 30, metric: "click" as const, wait: 2, waitUnit: "hours" as const };
    expect(toBody(form).ab_test).toBeUndefined();
    const two = { ...form, variants: [{ subject: "A", body: "a" }, { subject: "B", body: "b" }] };
    expect(toBody(two).ab_test).toEqual({ test_percent: 30, metric: "click", wait_seconds: 7200 });
  });

  it("names the topic by its number", () => {
    expect(toBody({ ...blankForm(), topicId: "4" }).subscription_topic_id).toBe(4);
  });

  it("schedules now, at a time, or at each recipient's local time", () => {
    expect(scheduleBody("now", null, { date: "", time: "" })).toEqual({ send_now: true });
    expect(scheduleBody("at", 1798000000, { date: "", time: "" })).toEqual({ scheduled_at: 1798000000 });
    expect(scheduleBody("local", null, { date: "2026-12-24", time: "09:00" })).toEqual({ local_time: { date: "2026-12-24", time: "09:00" } });
  });
});

describe("a stored draft", () => {
  const stored: Newsletter = {
    id: 3,
    name: "Launch",
    type: "email",
    content_ids: [1, 2],
    recipient_segment_ids: [7],
    state: "draft",
    scheduled_at: null,
    local_time: null,
    ab_test: { test_percent: 20, metric: "open", wait_seconds: 86400 },
    subscription_topic_id: 1,
    recipients: { and: [segment("7"), { not: free }] },
    timezone: "Europe/Paris",
    sent_at: null,
    created: 1,
    updated: 2,
    broadcasts: {},
    winner_content_id: null,
  };
  const contents = [
    { id: 2, newsletter_id: 3, subject: "B", body: "<p>b</p>" },
    { id: 1, newsletter_id: 3, subject: "A", body: "<p>a</p>", from: "news@example.com" },
  ];

  it("comes back as the form that wrote it", () => {
    const form = fromNewsletter(stored, contents);
    expect(form.variants).toEqual([
      { subject: "A", from: "news@example.com", preheader: "", body: "<p>a</p>" },
      { subject: "B", from: "", preheader: "", body: "<p>b</p>" },
    ]);
    expect(form).toMatchObject({ abTest: true, testPercent: 20, wait: 1, waitUnit: "days", timezone: "Europe/Paris", topicId: "1" });
    expect(toBody(form)).toEqual({
      name: "Launch",
      type: "email",
      timezone: "Europe/Paris",
      variants: [
        { subject: "A", from: "news@example.com", body: "<p>a</p>" },
        { subject: "B", body: "<p>b</p>" },
      ],
      recipients: stored.recipients,
      ab_test: stored.ab_test,
      subscription_topic_id: 1,
    });
  });

  it("can be canceled until a broadcast has run a page", () => {
    expect(cancelable(stored)).toBe(true);
    const queued = { status: "queued", recipients: 0, started: 0, skipped: {} };
    expect(cancelable({ state: "sending", broadcasts: { test: queued, rest: queued } })).toBe(true);
    expect(cancelable({ state: "sending", broadcasts: { test: { ...queued, status: "running" }, rest: queued } })).toBe(false);
    expect(cancelable({ state: "sent", broadcasts: {} })).toBe(false);
  });
});

describe("numbers", () => {
  it("shows waits in their largest whole unit", () => {
    expect(fromSeconds(60)).toEqual({ wait: 1, waitUnit: "minutes" });
    expect(fromSeconds(5400)).toEqual({ wait: 90, waitUnit: "minutes" });
    expect(fromSeconds(7200)).toEqual({ wait: 2, waitUnit: "hours" });
    expect([waitText(3600), waitText(5400), waitText(172800)]).toEqual(["1 hour", "90 minutes", "2 days"]);
  });

  it("shows rates per message sent", () => {
    expect(rate(1, 3)).toBe("33.3%");
    expect(rate(0, 0)).toBe("—");
  });
});
