import { Badge, Stack, Table, Text, Title } from "@mantine/core";
import { api } from "../api/client";
import type { Campaign } from "../api/types";
import { Empty, Loadable } from "../components/States";
import { when } from "../components/format";
import { useApi } from "../components/useApi";

const STATE_COLORS: Record<string, string> = { active: "green", draft: "gray", paused: "yellow", archived: "dark" };

export default function Campaigns() {
  const state = useApi((signal) => api.get<{ campaigns: Campaign[] }>("/v1/campaigns", { signal }), []);
  return (
    <Stack>
      <Title order={2}>Campaigns</Title>
      <Text c="dimmed" size="sm">
        The visual campaign builder comes next; until then campaigns are created through the App API.
      </Text>
      <Loadable state={state} label="Loading campaigns">
        {(data) =>
          data.campaigns.length === 0 ? (
            <Empty title="No campaigns yet" />
          ) : (
            <Table.ScrollContainer minWidth={480}>
              <Table striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Trigger</Table.Th>
                    <Table.Th>Updated</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.campaigns.map((c) => {
                    const trigger = c.trigger as { type?: string; name?: string } | undefined;
                    return (
                      <Table.Tr key={c.id}>
                        <Table.Td>{c.name}</Table.Td>
                        <Table.Td>
                          <Badge color={STATE_COLORS[c.state ?? ""] ?? "gray"} variant="light">
                            {c.state}
                          </Badge>
                        </Table.Td>
                        <Table.Td>{trigger ? `${trigger.type?.replace(/_/g, " ")}${trigger.name ? `: ${trigger.name}` : ""}` : "—"}</Table.Td>
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
