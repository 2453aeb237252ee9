import { Card, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { api } from "../api/client";
import type { Overview as OverviewData } from "../api/types";
import { BarChart } from "../components/BarChart";
import { Loadable } from "../components/States";
import { channelName, number } from "../components/format";
import { useApi } from "../components/useApi";

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fz={28} fw={700} data-testid={`stat-${label}`}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Card>
  );
}

export default function Overview() {
  const state = useApi((signal) => api.get<OverviewData>("/v1/overview", { signal }), []);
  return (
    <Stack>
      <Title order={2}>Overview</Title>
      <Loadable state={state} label="Loading the overview">
        {(data) => {
          const sent = Object.values(data.messages_by_channel).reduce((a, b) => a + b, 0);
          return (
            <>
              <SimpleGrid cols={{ base: 1, xs: 3 }}>
                <Stat label="People" value={number.format(data.people)} />
                <Stat
                  label="Messages this period"
                  value={number.format(sent)}
                  hint={`${data.period.start} to ${data.period.end}`}
                />
                <Stat label="Active campaigns" value={number.format(data.active_campaigns)} />
              </SimpleGrid>
              <Card withBorder>
                <Title order={4} mb="xs">
                  Messages sent this period by channel
                </Title>
                <Group gap="xl">
                  {Object.entries(data.messages_by_channel).map(([channel, count]) => (
                    <div key={channel}>
                      <Text size="sm" c="dimmed">
                        {channelName(channel)}
                      </Text>
                      <Text fw={600}>{number.format(count)}</Text>
                    </div>
                  ))}
                </Group>
              </Card>
              <Card withBorder>
                <Title order={4} mb="xs">
                  Messages per day, last 30 days
                </Title>
                {data.messages_per_day.some((d) => d.count > 0) ? (
                  <BarChart data={data.messages_per_day} label="Messages per day over the last 30 days" />
                ) : (
                  <Text c="dimmed">No messages in the last 30 days yet.</Text>
                )}
                {!data.messages_per_day_complete && (
                  <Text size="xs" c="dimmed" mt="xs">
                    Busy month: the oldest days shown are counted in part.
                  </Text>
                )}
              </Card>
            </>
          );
        }}
      </Loadable>
    </Stack>
  );
}
