import { Anchor, Badge, Button, Group, Stack, Table, Text, Title } from "@mantine/core";
import { Link, Route, Routes, useParams } from "react-router";
import { api, seg } from "../api/client";
import type { Segment } from "../api/types";
import { Empty, Failed, Loadable, Loading } from "../components/States";
import { number, when } from "../components/format";
import { useApi } from "../components/useApi";
import { NewsletterDetail, STATE_COLORS } from "../newsletters/Detail";
import { NewsletterEditor } from "../newsletters/Editor";
import { blankForm, fromNewsletter, fromRecipients, scheduleText, type Content, type Metrics, type Newsletter } from "../newsletters/form";
import { keyOf } from "../segments/conditions";
import { useSession } from "../session";

// Newsletters: one message (or A/B variants of it) sent once to an audience. The list at /newsletters;
// /newsletters/new and /newsletters/:id open a draft in the editor (an author's), anything else (or any
// newsletter, for a viewer) in its summary with its metrics.

/** Sent, opened and clicked, from the newsletter's metrics (a draft has none). */
function Counts({ newsletter }: { newsletter: Newsletter }) {
  const live = newsletter.state !== "draft";
  const state = useApi((signal) => (live ? api.get<Metrics>(`/v1/newsletters/${newsletter.id}/metrics`, { signal }).then((a) => a.metric) : Promise.resolve(null)), [newsletter.id, live]);
  const show = (metric: string) => (!live ? "—" : state.error ? "?" : state.data ? number.format(state.data[metric] ?? 0) : "…");
  return (
    <>
      <Table.Td data-testid={`sent-${newsletter.id}`}>{show("sent")}</Table.Td>
      <Table.Td>{show("opened")}</Table.Td>
      <Table.Td>{show("clicked")}</Table.Td>
    </>
  );
}

/** Who it goes to, in a few words: everyone, or its segments by name, and whether it filters further. */
function audienceText(newsletter: Newsletter, segments: Segment[]): string {
  if (!newsletter.recipients) return "Everyone";
  const names = newsletter.recipient_segment_ids.map((id) => segments.find((s) => String(s.id) === String(id))?.name ?? `segment ${id}`);
  const { include, exclude } = fromRecipients(newsletter.recipients);
  const simple = include && (include.and as unknown[] | undefined)?.length === 1 && keyOf((include.and as Record<string, unknown>[])[0]!) === "segment";
  const who = !include ? "Everyone" : simple ? names[0]! : names.length ? `Conditions on ${names.join(", ")}` : "People matching conditions";
  return exclude ? `${who}, with exclusions` : who;
}

function NewsletterList() {
  const { can } = useSession();
  const state = useApi((signal) => api.get<{ newsletters: Newsletter[] }>("/v1/newsletters", { signal }), []);
  const segments = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Newsletters</Title>
        {can("edit") && (
          <Button component={Link} to="/newsletters/new">
            New newsletter
          </Button>
        )}
      </Group>
      <Loadable state={state} label="Loading newsletters">
        {(data) =>
          data.newsletters.length === 0 ? (
            <Empty title="No newsletters yet">A newsletter sends one message, or A/B variants of it, once to an audience: now, at a time, or at each person's local time.</Empty>
          ) : (
            <Table.ScrollContainer minWidth={760}>
              <Table striped highlightOnHover>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>State</Table.Th>
                    <Table.Th>Audience</Table.Th>
                    <Table.Th>Sends</Table.Th>
                    <Table.Th>Sent</Table.Th>
                    <Table.Th>Opened</Table.Th>
                    <Table.Th>Clicked</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {[...data.newsletters]
                    .sort((a, b) => b.id - a.id)
                    .map((n) => (
                      <Table.Tr key={n.id}>
                        <Table.Td>
                          <Anchor component={Link} to={`/newsletters/${n.id}`}>
                            {n.name}
                          </Anchor>
                          {n.content_ids.length > 1 && (
                            <Text size="xs" c="dimmed">
                              {n.content_ids.length} variants{n.ab_test ? ", A/B test" : ""}
                            </Text>
                          )}
                        </Table.Td>
                        <Table.Td>
                          <Badge color={STATE_COLORS[n.state] ?? "gray"} variant="light">
                            {n.state}
                          </Badge>
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm">{audienceText(n, segments.data?.segments ?? [])}</Text>
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm">{scheduleText(n, when)}</Text>
                        </Table.Td>
                        <Counts newsletter={n} />
                      </Table.Tr>
                    ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </Loadable>
    </Stack>
  );
}

function NewsletterPage() {
  const { newsletterId = "new" } = useParams();
  const { can } = useSession();
  const segments = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  // Each answer says which newsletter it is: until the one asked for arrives, the previous one (kept while
  // the next loads) is not shown under the new path.
  const state = useApi(
    async (signal) => {
      if (newsletterId === "new") return { id: newsletterId, newsletter: null, contents: [] as Content[] };
      const path = `/v1/newsletters/${seg(newsletterId)}`;
      const [one, contents] = await Promise.all([api.get<{ newsletter: Newsletter }>(path, { signal }), api.get<{ contents: Content[] }>(`${path}/contents`, { signal })]);
      return { id: newsletterId, newsletter: one.newsletter, contents: contents.contents };
    },
    [newsletterId],
  );
  if (state.error && state.data?.id !== newsletterId) return <Failed error={state.error} retry={state.reload} />;
  if (segments.error) return <Failed error={segments.error} retry={segments.reload} />;
  if (state.data === undefined || state.data.id !== newsletterId || !segments.data) return <Loading label="Loading the newsletter" />;
  const { newsletter, contents } = state.data;
  if (newsletter === null || (newsletter.state === "draft" && can("edit"))) {
    // Keyed by what was stored: a draft saved under a new path, or sent, starts its screen again.
    return (
      <NewsletterEditor
        key={newsletter ? `${newsletter.id}:${newsletter.updated}` : "new"}
        newsletter={newsletter}
        initial={newsletter ? fromNewsletter(newsletter, contents) : blankForm()}
        segments={segments.data.segments}
        onSent={state.reload}
      />
    );
  }
  return <NewsletterDetail newsletter={newsletter} contents={contents} segments={segments.data.segments} reload={state.reload} />;
}

export default function Newsletters() {
  return (
    <Routes>
      <Route index element={<NewsletterList />} />
      <Route path=":newsletterId" element={<NewsletterPage />} />
    </Routes>
  );
}
