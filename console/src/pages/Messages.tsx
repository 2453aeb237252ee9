import { Anchor, Badge, Button, Group, NativeSelect, Stack, Table, Title } from "@mantine/core";
import { useState } from "react";
import { Link } from "react-router";
import { api } from "../api/client";
import type { Campaign, MessagesPage } from "../api/types";
import { Empty, Failed, Loading } from "../components/States";
import { channelName, when } from "../components/format";
import { useApi } from "../components/useApi";

const CHANNELS = ["email", "sms", "push", "in_app", "webhook"];
const STATES = ["sent", "delivered", "opened", "clicked", "converted", "bounced", "failed", "suppressed", "undeliverable"];

export default function Messages() {
  const [type, setType] = useState("");
  const [metric, setMetric] = useState("");
  const [campaign, setCampaign] = useState("");
  const [starts, setStarts] = useState<string[]>([""]);
  const start = starts[starts.length - 1] ?? "";
  const campaigns = useApi((signal) => api.get<{ campaigns: Campaign[] }>("/v1/campaigns", { signal }), []);
  const page = useApi(
    (signal) => api.get<MessagesPage>("/v1/messages", { signal, query: { type, metric, campaign_id: campaign, start, limit: 50 } }),
    [type, metric, campaign, start],
  );
  const names = new Map((campaigns.data?.campaigns ?? []).map((c) => [String(c.id), c.name]));
  const filter = (set: (v: string) => void) => (e: React.ChangeEvent<HTMLSelectElement>) => {
    set(e.currentTarget.value);
    setStarts([""]);
  };
  return (
    <Stack>
      <Title order={2}>Messages</Title>
      <Group>
        <NativeSelect label="Channel" value={type} onChange={filter(setType)} data={[{ value: "", label: "Any channel" }, ...CHANNELS.map((c) => ({ value: c, label: channelName(c) }))]} />
        <NativeSelect label="State reached" value={metric} onChange={filter(setMetric)} data={[{ value: "", label: "Any state" }, ...STATES]} />
        <NativeSelect
          label="Campaign"
          value={campaign}
          onChange={filter(setCampaign)}
          data={[{ value: "", label: "Any campaign" }, ...(campaigns.data?.campaigns ?? []).map((c) => ({ value: String(c.id), label: c.name }))]}
        />
      </Group>
      {page.error ? (
        <Failed error={page.error} retry={page.reload} />
      ) : !page.data ? (
        <Loading label="Loading messages" />
      ) : page.data.messages.length === 0 ? (
        <Empty title={type || metric || campaign ? "No messages match" : "No messages yet"}>
          {page.data.next ? "None on this stretch: go on to the next page." : "Messages appear here as campaigns and your app send them."}
        </Empty>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Recipient</Table.Th>
                <Table.Th>Channel</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Campaign</Table.Th>
                <Table.Th>Created</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.data.messages.map((m) => (
                <Table.Tr key={m.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/messages/${m.id}`}>
                      {m.recipient ?? m.id}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{channelName(m.channel)}</Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={m.state === "failed" || m.state === "bounced" ? "red" : undefined}>
                      {m.state}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{m.campaign_id ? names.get(String(m.campaign_id)) ?? m.campaign_id : m.type}</Table.Td>
                  <Table.Td>{when(m.created)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group justify="flex-end">
        <Button variant="default" disabled={starts.length < 2} onClick={() => setStarts((s) => s.slice(0, -1))}>
          Previous
        </Button>
        <Button variant="default" disabled={!page.data?.next} onClick={() => page.data?.next && setStarts((s) => [...s, page.data!.next])}>
          Next
        </Button>
      </Group>
    </Stack>
  );
}
