import { Anchor, Badge, Button, Group, Progress, Stack, Table, Text, Title } from "@mantine/core";
import { Link } from "react-router";
import { api } from "../api/client";
import type { Segment } from "../api/types";
import { Empty, Loadable } from "../components/States";
import { number } from "../components/format";
import { useApi } from "../components/useApi";
import { useSession } from "../session";

function Count({ id }: { id: Segment["id"] }) {
  const state = useApi((signal) => api.get<{ count: number }>(`/v1/segments/${id}/customer_count`, { signal }), [id]);
  if (state.error) return <Text c="red" size="sm">unavailable</Text>;
  return <span data-testid={`count-${id}`}>{state.data ? number.format(state.data.count) : "…"}</span>;
}

export default function Segments() {
  const { can } = useSession();
  const state = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Segments</Title>
        {can("edit") && (
          <Button component={Link} to="/segments/new">
            New segment
          </Button>
        )}
      </Group>
      <Loadable state={state} label="Loading segments">
        {(data) =>
          data.segments.length === 0 ? (
            <Empty title="No segments yet">A segment groups people by their attributes, events, devices or other segments; campaigns start from them.</Empty>
          ) : (
            <Table.ScrollContainer minWidth={520}>
              <Table striped highlightOnHover>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Type</Table.Th>
                    <Table.Th>People</Table.Th>
                    <Table.Th>State</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.segments.map((s) => (
                    <Table.Tr key={s.id}>
                      <Table.Td>
                        <Anchor component={Link} to={`/segments/${s.id}`}>
                          {s.name}
                        </Anchor>
                        {s.description && (
                          <Text size="xs" c="dimmed">
                            {s.description}
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td>{s.type ?? "dynamic"}</Table.Td>
                      <Table.Td>
                        <Count id={s.id} />
                      </Table.Td>
                      <Table.Td w={160}>
                        {s.state === "building" ? (
                          <Stack gap={2}>
                            <Text size="xs">building {s.progress ?? 0}%</Text>
                            <Progress value={s.progress ?? 0} size="sm" aria-label={`${s.name} building progress`} />
                          </Stack>
                        ) : (
                          <Badge variant="light" color="green">
                            {s.state ?? "ready"}
                          </Badge>
                        )}
                      </Table.Td>
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
