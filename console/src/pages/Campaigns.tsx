import { Anchor, Badge, Button, Group, Stack, Table, Text, Title } from "@mantine/core";
import { Link } from "react-router";
import { api, seg } from "../api/client";
import type { Campaign } from "../api/types";
import { Empty, Loadable } from "../components/States";
import { number, when } from "../components/format";
import { useApi } from "../components/useApi";
import { useSession } from "../session";

const STATE_COLORS: Record<string, string> = { active: "green", draft: "gray", paused: "yellow", archived: "dark" };

/** Entered and converted, from the campaign's metrics (a draft has none to read). */
function Counts({ campaign }: { campaign: Campaign }) {
  const live = campaign.state !== "draft";
  const state = useApi(
    (signal) =>
      live
        ? api.get<{ metrics: { campaign: Record<string, number> } }>(`/v1/campaigns/${seg(String(campaign.id))}/metrics`, { signal }).then((a) => a.metrics.campaign)
        : Promise.resolve(null),
    [campaign.id, live],
  );
  const show = (metric: string) => (!live ? "—" : state.error ? "?" : state.data ? number.format(state.data[metric] ?? 0) : "…");
  return (
    <>
      <Table.Td data-testid={`entered-${campaign.id}`}>{show("entered")}</Table.Td>
      <Table.Td>{show("converted")}</Table.Td>
    </>
  );
}

export default function Campaigns() {
  const { can } = useSession();
  const state = useApi((signal) => api.get<{ campaigns: Campaign[] }>("/v1/campaigns", { signal }), []);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Campaigns</Title>
        {can("edit") && (
          <Button component={Link} to="/campaigns/new">
            New campaign
          </Button>
        )}
      </Group>
      <Loadable state={state} label="Loading campaigns">
        {(data) =>
          data.campaigns.length === 0 ? (
            <Empty title="No campaigns yet">A campaign sends messages when people do something: start one with “New campaign”.</Empty>
          ) : (
            <Table.ScrollContainer minWidth={560}>
              <Table striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Trigger</Table.Th>
                    <Table.Th>Entered</Table.Th>
                    <Table.Th>Converted</Table.Th>
                    <Table.Th>Updated</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.campaigns.map((c) => {
                    const trigger = c.trigger as { type?: string; name?: string } | undefined;
                    return (
                      <Table.Tr key={c.id}>
                        <Table.Td>
                          <Anchor component={Link} to={`/campaigns/${seg(String(c.id))}`}>
                            {c.name}
                          </Anchor>
                        </Table.Td>
                        <Table.Td>
                          <Badge color={STATE_COLORS[c.state ?? ""] ?? "gray"} variant="light">
                            {c.state}
                          </Badge>
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm">{trigger ? `${trigger.type?.replace(/_/g, " ")}${trigger.name ? `: ${trigger.name}` : ""}` : "—"}</Text>
                        </Table.Td>
                        <Counts campaign={c} />
                        <Table.Td>{when(c.updated_at as number | undefined)}</Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </Loadable>
    </Stack>
  );
}
