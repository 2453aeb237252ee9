import { Alert, Anchor, Button, Card, Group, Modal, NativeSelect, NumberInput, SegmentedControl, SimpleGrid, Stack, Switch, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, api, seg } from "../api/client";
import { LeaveGuard } from "../components/LeaveGuard";
import type { Segment } from "../api/types";
import { useApi } from "../components/useApi";
import type { Template } from "../content/types";
import { DeleteButton } from "../content/DeleteButton";
import { PreviewPane, usePreviewPerson } from "../content/PreviewPane";
import { fromDateTimeInput } from "../segments/conditions";
import { useSession } from "../session";
import { useLocalRuntime } from "../Shell";
import { AudienceEditor } from "./Audience";
import { CHANNELS, MAX_VARIANTS, fieldsOf, scheduleBody, toBody, variantName, type Form, type Newsletter, type SendMode, type Variant, type WaitUnit } from "./form";

interface Topic {
  id: number;
  name: string;
}

const asError = (e: unknown) => (e instanceof ApiError ? e : new ApiError(0, String(e), {}));

/** One variant's fields, and a template of the workspace to start from. */
function VariantCard({
  index,
  count,
  channel,
  variant,
  templates,
  error,
  previewError,
  onChange,
  onRemove,
}: {
  index: number;
  count: number;
  channel: string;
  variant: Variant;
  templates: Template[];
  error: ApiError | undefined;
  /** The preview's refusal, when this variant is the one previewed (its pointers: `template/<field>`). */
  previewError: ApiError | undefined;
  onChange(next: Variant): void;
  onRemove(): void;
}) {
  const label = count > 1 ? `Variant ${variantName(index + 1)}` : "Message";
  // A newsletter's message has no layout of its own: a copied template's layout is said to be left out.
  const [layoutLeft, setLayoutLeft] = useState<string>();
  const fromTemplate = (id: string) => {
    const template = templates.find((t) => String(t.id) === id);
    if (!template) return;
    setLayoutLeft(template.layout_id ? template.name : undefined);
    onChange(Object.fromEntries(fieldsOf(channel).map((f) => [f.key, typeof template[f.key] === "string" ? (template[f.key] as string) : (variant[f.key] ?? "")])));
  };
  return (
    <Card withBorder aria-label={label} component="section">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={5}>{label}</Title>
          {count > 1 && (
            <Button size="compact-xs" variant="subtle" color="red" onClick={onRemove} aria-label={`Remove ${label}`}>
              Remove this variant
            </Button>
          )}
        </Group>
        {templates.length > 0 && (
          <NativeSelect
            label="Start from a template"
            description="Copies the template's content here; later changes to the template do not change this newsletter."
            value=""
            onChange={(e) => fromTemplate(e.currentTarget.value)}
            data={[{ value: "", label: "Choose a template" }, ...templates.map((t) => ({ value: String(t.id), label: t.name }))]}
          />
        )}
        {layoutLeft && (
          <Alert color="yellow" role="status">
            {layoutLeft} uses a layout, which was not copied: a newsletter is sent with its own content only. Put the header and footer in the body if it needs them.
          </Alert>
        )}
        {fieldsOf(channel).map((field) => {
          const props = {
            label: field.label,
            required: field.required,
            value: variant[field.key] ?? "",
            onChange: (e: { currentTarget: { value: string } }) => onChange({ ...variant, [field.key]: e.currentTarget.value }),
            error: error?.field(`variants/${index}/${field.key}`) ?? previewError?.field(`template/${field.key}`),
          };
          return field.long ? (
            <Textarea key={field.key} {...props} autosize minRows={4} maxRows={14} styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)", fontSize: 13 } }} />
          ) : (
            <TextInput key={field.key} {...props} />
          );
        })}
      </Stack>
    </Card>
  );
}

/** Send a draft now, at a time, or at each recipient's local time; refusals at their field. */
function SendDialog({ newsletter, abTest, opened, onClose, onSent }: { newsletter: Newsletter; abTest: boolean; opened: boolean; onClose(): void; onSent(): void }) {
  const [mode, setMode] = useState<SendMode>("now");
  const [at, setAt] = useState("");
  const [date, setDate] = useState("");
  const [time, setTime] = useState("09:00");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  async function send() {
    setError(undefined);
    // Without a time, the API would read no schedule at all, which sends now: never that by accident.
    if (mode === "at" && fromDateTimeInput(at) === null) {
      setError(new ApiError(400, "Choose the date and time to send at.", { scheduled_at: "Choose the date and time to send at." }));
      return;
    }
    setBusy(true);
    try {
      await api.post(`/v1/newsletters/${newsletter.id}/send`, scheduleBody(mode, fromDateTimeInput(at), { date, time }));
      onSent();
    } catch (e) {
      setError(asError(e));
      setBusy(false);
    }
  }
  const placed = ["scheduled_at", "local_time", "local_time/date", "local_time/time"];
  const general = error && !placed.some((key) => error.fields[key]) ? error : undefined;
  return (
    <Modal opened={opened} onClose={onClose} title={`Send “${newsletter.name}”`}>
      <Stack>
        <SegmentedControl
          aria-label="When"
          value={mode}
          onChange={(v) => setMode(v as SendMode)}
          data={[
            { value: "now", label: "Now" },
            { value: "at", label: "At a time" },
            { value: "local", label: "Local time" },
          ]}
        />
        {mode === "at" && (
          <TextInput type="datetime-local" label="Send at (your time)" value={at} onChange={(e) => setAt(e.currentTarget.value)} error={error?.field("scheduled_at")} />
        )}
        {mode === "local" && (
          <>
            <Text size="sm">
              Each person gets it at this time in their own <code>timezone</code> attribute; people without one at this time in {newsletter.timezone ?? "UTC"}. Where
              that time has passed already, it goes at once.
            </Text>
            {abTest && (
              <Text size="sm" c="orange">
                An A/B test cannot be sent at local times: its test group would be judged before most of it had received it.
              </Text>
            )}
            <Group grow>
              <TextInput type="date" label="Date" value={date} onChange={(e) => setDate(e.currentTarget.value)} error={error?.field("local_time/date") ?? error?.field("local_time")} />
              <TextInput type="time" label="Time" value={time} onChange={(e) => setTime(e.currentTarget.value)} error={error?.field("local_time/time")} />
            </Group>
          </>
        )}
        {general && (
          <Alert color="red" role="alert">
            {general.message}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Not yet
          </Button>
          <Button loading={busy} onClick={() => void send()}>
            {mode === "now" ? "Send now" : "Schedule"}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** A draft's test: one variant to one person of the workspace, by their email address. */
function TestSend({ newsletter, variants, save }: { newsletter: Newsletter; variants: number; save(): Promise<boolean> }) {
  const { session } = useSession();
  const local = useLocalRuntime();
  const [to, setTo] = useState(session?.email ?? "");
  const [contentId, setContentId] = useState("1");
  const [error, setError] = useState<ApiError>();
  const [sent, setSent] = useState<string>();
  const [busy, setBusy] = useState(false);
  async function test() {
    setBusy(true);
    setError(undefined);
    setSent(undefined);
    try {
      if (!(await save())) return;
      await api.post(`/v1/newsletters/${newsletter.id}/test_send`, { identifiers: { email: to.trim() }, content_id: Number(contentId) });
      setSent(to.trim());
    } catch (e) {
      setError(asError(e));
    } finally {
      setBusy(false);
    }
  }
  const toError = error && (error.field("identifiers") ?? (error.status === 404 ? "No person in this workspace has this address: a test goes to someone already here." : undefined));
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Title order={4}>Send a test</Title>
        <Group align="flex-end" gap="xs">
          <TextInput label="To (a person's email address)" value={to} onChange={(e) => setTo(e.currentTarget.value)} error={toError} w={260} />
          {variants > 1 && (
            <NativeSelect
              label="Variant"
              value={contentId}
              onChange={(e) => setContentId(e.currentTarget.value)}
              data={Array.from({ length: variants }, (_, i) => ({ value: String(i + 1), label: variantName(i + 1) }))}
              error={error?.field("content_id")}
            />
          )}
          <Button variant="light" loading={busy} onClick={() => void test()}>
            Send test
          </Button>
        </Group>
        <Text size="xs" c="dimmed">
          Rendered for that person and sent now, even if they unsubscribed; not counted in the newsletter's metrics.
        </Text>
        {error && !toError && !error.field("content_id") && (
          <Text size="sm" c="red" role="alert">
            {error.message}
          </Text>
        )}
        {sent && (
          <Text size="sm" c="green" role="status">
            A test is on its way to {sent}.{" "}
            {local && (
              <Anchor href="/_local/outbox.html" target="_blank" rel="noopener">
                Open the local outbox ↗
              </Anchor>
            )}
          </Text>
        )}
      </Stack>
    </Card>
  );
}

/** A new newsletter, or a draft: its message (one, or A/B variants), audience, A/B test and delivery
 * settings, saved as a draft; then tested and sent. */
export function NewsletterEditor({ newsletter, initial, segments, onSent }: { newsletter: Newsletter | null; initial: Form; segments: Segment[]; onSent(): void }) {
  const navigate = useNavigate();
  const [form, setForm] = useState<Form>(initial);
  const [base, setBase] = useState(() => (newsletter ? JSON.stringify(toBody(initial)) : ""));
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [sending, setSending] = useState(false);
  const [previewed, setPreviewed] = useState(0);
  const [previewError, setPreviewError] = useState<ApiError>();
  const [person, setPerson] = usePreviewPerson();
  const [data, setData] = useState("");
  const templates = useApi((signal) => api.get<{ templates: Template[] }>("/v1/templates", { signal }), []);
  const topics = useApi((signal) => api.get<{ topics: Topic[] }>("/v1/subscription_topics", { signal }), []);
  const set = (patch: Partial<Form>) => {
    setSaved(false);
    setForm((f) => ({ ...f, ...patch }));
  };
  const body = toBody(form);
  const dirty = JSON.stringify(body) !== base;

  /** Saves the draft (a new one moves to its own page); false when refused. */
  async function save(): Promise<boolean> {
    setBusy(true);
    setError(undefined);
    try {
      if (newsletter) {
        await api.put(`/v1/newsletters/${newsletter.id}`, body);
        setBase(JSON.stringify(body));
        setSaved(true);
      } else {
        const answer = await api.post<{ newsletter: Newsletter }>("/v1/newsletters", body);
        navigate(`/newsletters/${answer.newsletter.id}`, { replace: true });
      }
      return true;
    } catch (e) {
      setError(asError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }

  const shownVariant = Math.min(previewed, form.variants.length - 1);
  const draft = { template: { ...((body.variants as Record<string, string>[])[shownVariant] ?? {}), channel: form.channel } };
  const channelTemplates = (templates.data?.templates ?? []).filter((t) => t.channel === form.channel);
  const abError = error?.field("ab_test");
  const placed = ["name", "type", "variants", "recipients", "ab_test", "timezone", "subscription_topic_id"];
  const general = error && !placed.some((key) => error.field(key)) ? error : undefined;
  const variantsError = error?.fields["variants"];
  return (
    <Stack>
      <LeaveGuard current={JSON.stringify(body)} base={base} />
      <Anchor component={Link} to="/newsletters" size="sm">
        ← Newsletters
      </Anchor>
      <Group justify="space-between">
        <Title order={2}>{newsletter ? newsletter.name : "New newsletter"}</Title>
        {newsletter && (
          <DeleteButton
            what="draft"
            consequence={`“${newsletter.name}” has not been sent: deleting it removes it and its content.`}
            onDelete={async () => {
              await api.delete(`/v1/newsletters/${seg(String(newsletter.id))}`);
              navigate("/newsletters", { replace: true });
            }}
          />
        )}
      </Group>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Stack>
          <TextInput label="Name" required value={form.name} onChange={(e) => set({ name: e.currentTarget.value })} error={error?.field("name")} />
          {newsletter ? (
            <Text size="sm">
              Channel: <b>{form.channel}</b>
            </Text>
          ) : (
            <NativeSelect
              label="Channel"
              value={form.channel}
              onChange={(e) => set({ channel: e.currentTarget.value })}
              data={CHANNELS.map((c) => ({ value: c, label: c === "in_app" ? "In-app" : c === "sms" ? "SMS" : c[0]!.toUpperCase() + c.slice(1) }))}
              error={error?.field("type")}
            />
          )}
          {form.variants.map((variant, i) => (
            <VariantCard
              key={i}
              index={i}
              count={form.variants.length}
              channel={form.channel}
              variant={variant}
              templates={channelTemplates}
              error={error}
              previewError={i === shownVariant ? previewError : undefined}
              onChange={(next) => set({ variants: form.variants.map((v, j) => (j === i ? next : v)) })}
              onRemove={() => set({ variants: form.variants.filter((_, j) => j !== i) })}
            />
          ))}
          {variantsError && (
            <Text size="sm" c="red" role="alert">
              {variantsError}
            </Text>
          )}
          <PreviewPane draft={draft} person={person} onPerson={setPerson} data={data} onData={setData} onError={setPreviewError} sampleData={false} title="Preview">
            {form.variants.length > 1 && (
              <NativeSelect
                label="Variant previewed"
                value={String(shownVariant)}
                onChange={(e) => setPreviewed(Number(e.currentTarget.value))}
                data={form.variants.map((_, i) => ({ value: String(i), label: `Variant ${variantName(i + 1)}` }))}
              />
            )}
          </PreviewPane>
          {form.variants.length < MAX_VARIANTS && (
            <Button variant="light" w="fit-content" onClick={() => set({ variants: [...form.variants, { ...form.variants[form.variants.length - 1] }], abTest: form.abTest || form.variants.length === 1 })}>
              + Add a variant (A/B test)
            </Button>
          )}
        </Stack>
        <Stack>
          <AudienceEditor include={form.include} exclude={form.exclude} onChange={set} segments={segments} error={error} readOnly={false} />
          {form.variants.length > 1 && (
            <Card withBorder>
              <Stack gap="xs">
                <Title order={4}>A/B test</Title>
                <Switch
                  label="Test the variants on a share of the audience first, then send the winner to the rest"
                  checked={form.abTest}
                  onChange={(e) => set({ abTest: e.currentTarget.checked })}
                  error={abError && !error?.field("ab_test/test_percent") && !error?.field("ab_test/metric") && !error?.field("ab_test/wait_seconds") ? abError : undefined}
                />
                {form.abTest ? (
                  <>
                    <Group align="flex-start" gap="xs">
                      <NumberInput label="Test group (% of the audience)" min={1} max={99} value={form.testPercent} onChange={(v) => set({ testPercent: Number(v) || 0 })} error={error?.field("ab_test/test_percent")} w={200} />
                      <NumberInput label="Then wait" min={1} value={form.wait} onChange={(v) => set({ wait: Number(v) || 0 })} error={error?.field("ab_test/wait_seconds")} w={110} />
                      <NativeSelect label="Unit" value={form.waitUnit} onChange={(e) => set({ waitUnit: e.currentTarget.value as WaitUnit })} data={["minutes", "hours", "days"]} />
                    </Group>
                    <NativeSelect
                      label="Winner by"
                      value={form.metric}
                      onChange={(e) => set({ metric: e.currentTarget.value as Form["metric"] })}
                      data={[
                        { value: "open", label: "open rate" },
                        { value: "click", label: "click rate" },
                      ]}
                      error={error?.field("ab_test/metric")}
                      w={200}
                    />
                    <Text size="xs" c="dimmed">
                      The test group is split evenly between the {form.variants.length} variants; after the wait, the variant with the best rate (a tie goes to the
                      first) is sent to everyone else.
                    </Text>
                  </>
                ) : (
                  <Text size="xs" c="dimmed">
                    Without a test, the whole audience is split evenly between the variants.
                  </Text>
                )}
              </Stack>
            </Card>
          )}
          <Card withBorder>
            <Stack gap="xs">
              <Title order={4}>Delivery</Title>
              <NativeSelect
                label="Subscription topic"
                description="People who left the topic (or never joined an opt-in one) are skipped."
                value={form.topicId}
                onChange={(e) => set({ topicId: e.currentTarget.value })}
                data={[{ value: "", label: "No topic" }, ...(topics.data?.topics ?? []).map((t) => ({ value: String(t.id), label: t.name }))]}
                error={error?.field("subscription_topic_id")}
              />
              <TextInput
                label="Time zone for people without one"
                description="For a send at each recipient's local time (an IANA name: Europe/Paris)."
                value={form.timezone}
                onChange={(e) => set({ timezone: e.currentTarget.value })}
                error={error?.field("timezone")}
              />
            </Stack>
          </Card>
          {general && (
            <Alert color="red" role="alert">
              {general.message}
            </Alert>
          )}
          {saved && !dirty && !error && (
            <Text size="sm" c="green" role="status">
              Saved.
            </Text>
          )}
          <Group>
            <Button variant={newsletter ? "default" : "filled"} loading={busy} onClick={() => void save()}>
              {newsletter ? "Save draft" : "Create draft"}
            </Button>
            {newsletter && (
              <Button
                loading={busy}
                onClick={() => {
                  void (async () => {
                    if (!dirty || (await save())) setSending(true);
                  })();
                }}
              >
                {dirty ? "Save and send…" : "Send…"}
              </Button>
            )}
          </Group>
          {newsletter ? (
            <TestSend newsletter={newsletter} variants={form.variants.length} save={async () => !dirty || (await save())} />
          ) : (
            <Text size="sm" c="dimmed">
              Create the draft to send a test and to send it.
            </Text>
          )}
        </Stack>
      </SimpleGrid>
      {newsletter && (
        <SendDialog newsletter={newsletter} abTest={form.abTest && form.variants.length > 1} opened={sending} onClose={() => setSending(false)} onSent={onSent} />
      )}
    </Stack>
  );
}
