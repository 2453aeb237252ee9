import { Alert, Anchor, Badge, Button, Card, Code, Group, Modal, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, api, seg } from "../api/client";
import type { Segment } from "../api/types";
import { number, when } from "../components/format";
import { useApi } from "../components/useApi";
import { DeleteButton } from "../content/DeleteButton";
import { useSession } from "../session";
import { AudienceEditor } from "./Audience";
import { METRICS, cancelable, fieldsOf, fromRecipients, rate, scheduleText, variantName, waitText, winnerDue, type Content, type Metrics, type Newsletter } from "./form";

export const STATE_COLORS: Record<string, string> = { draft: "gray", sending: "blue", sent: "green", canceled: "dark" };

const PHASES: Record<string, string> = { all: "Everyone", test: "Test group", rest: "The rest (winner)" };

function MetricsTable({ newsletter, metrics }: { newsletter: Newsletter; metrics: Metrics }) {
  const rows = newsletter.content_ids.map((id) => ({ id, label: `Variant ${variantName(id)}`, counts: metrics.variants[String(id)] ?? {} }));
  const several = rows.length > 1;
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table striped data-testid="newsletter-metrics">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{several ? "Variant" : ""}</Table.Th>
            {METRICS.map((m) => (
              <Table.Th key={m}>{m}</Table.Th>
            ))}
            <Table.Th>open rate</Table.Th>
            <Table.Th>click rate</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {several &&
            rows.map((row) => (
              <Table.Tr key={row.id} data-testid={`variant-${row.id}`}>
                <Table.Td>
                  <Group gap={6} wrap="nowrap">
                    {row.label}
                    {newsletter.winner_content_id === row.id && (
                      <Badge color="green" size="sm">
                        winner
                      </Badge>
                    )}
                  </Group>
                </Table.Td>
                {METRICS.map((m) => (
                  <Table.Td key={m}>{number.format(row.counts[m] ?? 0)}</Table.Td>
                ))}
                <Table.Td>{rate(row.counts.opened, row.counts.sent)}</Table.Td>
                <Table.Td>{rate(row.counts.clicked, row.counts.sent)}</Table.Td>
              </Table.Tr>
            ))}
          <Table.Tr data-testid="variant-total" fw={600}>
            <Table.Td>Total</Table.Td>
            {METRICS.map((m) => (
              <Table.Td key={m}>{number.format(metrics.metric[m] ?? 0)}</Table.Td>
            ))}
            <Table.Td>{rate(metrics.metric.opened, metrics.metric.sent)}</Table.Td>
            <Table.Td>{rate(metrics.metric.clicked, metrics.metric.sent)}</Table.Td>
          </Table.Tr>
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function CancelButton({ newsletter, onCanceled }: { newsletter: Newsletter; onCanceled(): void }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  async function cancel() {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/v1/newsletters/${newsletter.id}/cancel`);
      setOpen(false);
      onCanceled();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, String(e), {}));
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <Button variant="light" color="red" onClick={() => setOpen(true)}>
        Cancel newsletter
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Cancel this newsletter?">
        <Stack>
          <Text size="sm">Canceling stops it before its first messages go out: no one receives it.</Text>
          <Text size="sm">
            What cancel cannot undo: a canceled newsletter cannot be sent again (create a new one), and once its first messages have gone out it can no longer be
            canceled. A newsletter at each recipient's local time queues its messages at once, so it can only be canceled before it is sent.
          </Text>
          {error && (
            <Alert color="red" role="alert">
              {error.message}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)} data-autofocus>
              Keep it
            </Button>
            <Button color="red" loading={busy} onClick={() => void cancel()}>
              Cancel newsletter
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** A newsletter sent, sending, scheduled or canceled (or any, for a viewer): what it is, its progress, its
 * metrics per variant and its A/B test's winner; cancel while it has not started. */
export function NewsletterDetail({
  newsletter,
  contents,
  segments,
  reload,
}: {
  newsletter: Newsletter;
  contents: Content[];
  segments: Segment[];
  reload(): void;
}) {
  const { can } = useSession();
  const navigate = useNavigate();
  const live = newsletter.state !== "draft";
  const metrics = useApi(
    (signal) => (live ? api.get<Metrics>(`/v1/newsletters/${newsletter.id}/metrics`, { signal }) : Promise.resolve(null)),
    [newsletter.id, newsletter.updated, live, newsletter.broadcasts],
  );
  // While it sends, what it shows follows: the newsletter (progress, winner) and so its metrics.
  const again = useRef(reload);
  again.current = reload;
  useEffect(() => {
    if (newsletter.state !== "sending") return;
    const timer = window.setInterval(() => again.current(), 2000);
    return () => window.clearInterval(timer);
  }, [newsletter.state]);

  const audience = fromRecipients(newsletter.recipients);
  const test = newsletter.ab_test;
  const due = winnerDue(newsletter);
  const phases = Object.entries(newsletter.broadcasts);
  return (
    <Stack>
      <Anchor component={Link} to="/newsletters" size="sm">
        ← Newsletters
      </Anchor>
      <Group justify="space-between">
        <Group gap="sm">
          <Title order={2}>{newsletter.name}</Title>
          <Badge color={STATE_COLORS[newsletter.state] ?? "gray"} variant="light" data-testid="newsletter-state">
            {newsletter.state}
          </Badge>
        </Group>
        {can("edit") && (
          <Group>
            {cancelable(newsletter) && <CancelButton newsletter={newsletter} onCanceled={reload} />}
            {newsletter.state === "canceled" && (
              <DeleteButton
                what="newsletter"
                consequence={`“${newsletter.name}” was canceled before it was sent: deleting it removes it and its content.`}
                onDelete={async () => {
                  await api.delete(`/v1/newsletters/${seg(String(newsletter.id))}`);
                  navigate("/newsletters", { replace: true });
                }}
              />
            )}
          </Group>
        )}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Card withBorder>
          <Text size="xs" c="dimmed">
            Sends
          </Text>
          <Text size="sm">{scheduleText(newsletter, when)}</Text>
        </Card>
        <Card withBorder>
          <Text size="xs" c="dimmed">
            Channel
          </Text>
          <Text size="sm">{newsletter.type}</Text>
        </Card>
        <Card withBorder>
          <Text size="xs" c="dimmed">
            A/B test
          </Text>
          {test ? (
            <Text size="sm" data-testid="ab-test">
              {test.test_percent}% test group, winner by {test.metric} rate after {waitText(test.wait_seconds)}:{" "}
              {newsletter.winner_content_id ? (
                <b>variant {variantName(newsletter.winner_content_id)} won</b>
              ) : due && newsletter.state !== "canceled" ? (
                `chosen at ${when(due)}`
              ) : (
                "not chosen"
              )}
            </Text>
          ) : (
            <Text size="sm">none</Text>
          )}
        </Card>
      </SimpleGrid>
      {live && (
        <Card withBorder>
          <Stack gap="xs">
            <Group justify="space-between">
              <Title order={4}>Metrics</Title>
              <Button size="xs" variant="default" onClick={reload} loading={metrics.loading}>
                Refresh
              </Button>
            </Group>
            {phases.length > 0 && (
              <Group gap="lg">
                {phases.map(([phase, b]) => (
                  <Text key={phase} size="sm">
                    {PHASES[phase] ?? phase}: <b>{b.status}</b>, {number.format(b.started)} of {number.format(b.recipients)} queued
                  </Text>
                ))}
              </Group>
            )}
            {metrics.error ? (
              <Text c="red" size="sm">
                {metrics.error.message}
              </Text>
            ) : metrics.data ? (
              <MetricsTable newsletter={newsletter} metrics={metrics.data} />
            ) : (
              <Text c="dimmed" size="sm">
                Counting…
              </Text>
            )}
            <Text size="xs" c="dimmed">
              Sent counts messages queued; the rest come from each message's delivery feedback.
            </Text>
          </Stack>
        </Card>
      )}
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Stack>
          {[...contents]
            .sort((a, b) => a.id - b.id)
            .map((content) => (
              <Card withBorder key={content.id}>
                <Title order={5}>{contents.length > 1 ? `Variant ${variantName(content.id)}` : "Message"}</Title>
                {fieldsOf(newsletter.type).map((field) =>
                  typeof content[field.key] === "string" && content[field.key] ? (
                    field.long ? (
                      <Code block key={field.key} mt={4} style={{ maxHeight: 240, overflow: "auto" }}>
                        {content[field.key] as string}
                      </Code>
                    ) : (
                      <Text size="sm" key={field.key}>
                        {field.label}: {content[field.key] as string}
                      </Text>
                    )
                  ) : null,
                )}
              </Card>
            ))}
        </Stack>
        <AudienceEditor include={audience.include} exclude={audience.exclude} onChange={() => {}} segments={segments} error={undefined} readOnly />
      </SimpleGrid>
    </Stack>
  );
}
