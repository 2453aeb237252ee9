import { Anchor, Badge, Card, SimpleGrid, Stack, Text, Timeline, Title } from "@mantine/core";
import { Link, useParams } from "react-router";
import { api, seg } from "../api/client";
import type { ArchivedMessage, Message } from "../api/types";
import { Failed, Loadable, Loading } from "../components/States";
import { when } from "../components/format";
import { useApi } from "../components/useApi";

const ORDER = ["queued", "attempted", "sent", "delivered", "opened", "clicked", "converted", "bounced", "failed", "suppressed", "undeliverable", "dropped", "spammed", "unsubscribed"];

export default function MessageDetail() {
  const { messageId = "" } = useParams();
  const message = useApi((signal) => api.get<{ message: Message }>(`/v1/messages/${seg(messageId)}`, { signal }), [messageId]);
  const content = useApi((signal) => api.get<{ archived_message: ArchivedMessage }>(`/v1/messages/${seg(messageId)}/archived_message`, { signal }), [messageId]);
  if (message.error) return <Failed error={message.error} retry={message.reload} />;
  if (!message.data) return <Loading label="Loading the message" />;
  const m = message.data.message;
  const steps = Object.entries(m.metrics ?? {}).sort(([a, at], [b, bt]) => at - bt || ORDER.indexOf(a) - ORDER.indexOf(b));
  return (
    <Stack>
      <Anchor component={Link} to="/messages" size="sm">
        ← Messages
      </Anchor>
      <Title order={2}>
        {m.channel} to {m.recipient ?? "—"} <Badge variant="light">{m.state}</Badge>
      </Title>
      {m.failure_message && <Text c="red">{m.failure_message}</Text>}
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Card withBorder style={{ gridColumn: "span 2" }}>
          <Title order={4} mb="xs">
            Content
          </Title>
          <Loadable state={content} label="Loading its content">
            {({ archived_message: a }) =>
              a.forgotten ? (
                <Text c="dimmed">No content kept: retention was disabled, the content was over the retention limit, or the message has not been sent.</Text>
              ) : (
                <Stack gap="xs">
                  {a.subject && (
                    <Text>
                      <b>Subject:</b> {a.subject}
                    </Text>
                  )}
                  {a.body ? (
                    // The message's own HTML in a sandbox with no permissions: no scripts, no same-origin access.
                    <iframe title="Message content" sandbox="" srcDoc={a.body} style={{ width: "100%", minHeight: 360, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4, background: "white" }} />
                  ) : (
                    <Text ff="monospace" style={{ whiteSpace: "pre-wrap" }}>
                      {a.body_plain}
                    </Text>
                  )}
                </Stack>
              )
            }
          </Loadable>
        </Card>
        <Card withBorder>
          <Title order={4} mb="xs">
            Timeline
          </Title>
          <Timeline active={steps.length - 1} bulletSize={14}>
            {steps.map(([name, at]) => (
              <Timeline.Item key={name} title={name}>
                <Text size="xs" c="dimmed">
                  {when(at)}
                </Text>
              </Timeline.Item>
            ))}
          </Timeline>
        </Card>
      </SimpleGrid>
    </Stack>
  );
}
