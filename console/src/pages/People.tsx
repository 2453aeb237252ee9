import { Alert, Anchor, Button, Group, Modal, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError, api, seg } from "../api/client";
import type { PeoplePage, Segment } from "../api/types";
import { Empty, Failed, Loading } from "../components/States";
import { when } from "../components/format";
import { useApi } from "../components/useApi";
import { useSession } from "../session";

const PAGE = 50;

/** Members of a segment whose id or email contains the text (as typed, or in lower case, as emails
 * mostly are: the filter's `contains` is exact). */
export function segmentFilter(segment: string, text: string): unknown {
  const inSegment = { segment: { id: segment } };
  if (!text) return inSegment;
  const spellings = [...new Set([text, text.toLowerCase()])];
  const matches = spellings.flatMap((value) =>
    ["id", "email"].map((field) => ({ attribute: { field, operator: "contains", value } })),
  );
  return { and: [inSegment, { or: matches }] };
}

function Unsuppress() {
  const [opened, setOpened] = useState(false);
  const [kind, setKind] = useState("email");
  const [value, setValue] = useState("");
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/v1/customers/${seg(value.trim())}/unsuppress`, {}, { query: { id_type: kind } });
      setDone(value.trim());
      setValue("");
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <Button variant="default" onClick={() => setOpened(true)}>
        Unsuppress…
      </Button>
      <Modal opened={opened} onClose={() => setOpened(false)} title="Unsuppress an identifier">
        <Stack component="form" onSubmit={submit}>
          <Text size="sm">
            A suppressed person was deleted and their identifiers blocked. Unblocking lets your app identify them again; their old profile does not come back.
          </Text>
          <NativeSelect label="Identifier" value={kind} onChange={(e) => setKind(e.currentTarget.value)} data={[{ value: "email", label: "Email" }, { value: "id", label: "Id" }]} />
          <TextInput label={kind === "email" ? "Email" : "Id"} required value={value} onChange={(e) => setValue(e.currentTarget.value)} error={error?.field("customer_id") ?? error?.message} />
          {done && (
            <Alert color="green" role="status">
              {done} is no longer suppressed.
            </Alert>
          )}
          <Button type="submit" loading={busy} w="fit-content">
            Unsuppress
          </Button>
        </Stack>
      </Modal>
    </>
  );
}

export default function People() {
  const { can } = useSession();
  const [search, setSearch] = useState("");
  const [segment, setSegment] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 300);
  // `start` of each page seen so far: the first is "", so Previous is one step back in this list.
  const [starts, setStarts] = useState<string[]>([""]);
  const start = starts[starts.length - 1] ?? "";

  const segments = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  const page = useApi(
    (signal) =>
      segment
        ? // A segment is Customer.io's people search, and so is a text search within it: the server tests
          // the segment's people (up to a thousand a request), not just the page shown.
          api.post<PeoplePage>("/v1/customers", { filter: segmentFilter(segment, debounced) }, { signal, query: { limit: PAGE, start } })
        : api.get<PeoplePage>("/v1/people", { signal, query: { limit: PAGE, start, search: debounced } }),
    [debounced, segment, start],
  );
  const reset = () => setStarts([""]);
  const rows = page.data?.identifiers ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>People</Title>
        {can("edit") && <Unsuppress />}
      </Group>
      <Group align="flex-end">
        <TextInput
          label="Search by id or email"
          placeholder="ann@example.com"
          value={search}
          onChange={(e) => {
            setSearch(e.currentTarget.value);
            reset();
          }}
          style={{ flex: 1, minWidth: 200 }}
        />
        <NativeSelect
          label="Segment"
          value={segment}
          onChange={(e) => {
            setSegment(e.currentTarget.value);
            reset();
          }}
          data={[
            { value: "", label: "Everyone" },
            ...(segments.data?.segments ?? []).map((s) => ({ value: String(s.id), label: s.name })),
          ]}
        />
      </Group>
      {page.error ? (
        <Failed error={page.error} retry={page.reload} />
      ) : page.loading && !page.data ? (
        <Loading label="Loading people" />
      ) : rows.length === 0 ? (
        page.data?.next ? (
          <Empty title="None on this stretch">Nobody matched among the people read so far: go on to the next page.</Empty>
        ) : (
          <Empty title={debounced || segment ? "Nobody matches" : "No people yet"}>
            {debounced || segment
              ? "Try another search or segment."
              : "People appear here as soon as your app identifies them through the Track API."}
          </Empty>
        )
      ) : (
        <Table.ScrollContainer minWidth={500}>
          <Table striped highlightOnHover aria-busy={page.loading}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Id</Table.Th>
                <Table.Th>Email</Table.Th>
                <Table.Th>Created</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((person) => (
                <Table.Tr key={person.cio_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/people/${person.cio_id}`}>
                      {person.id ?? <Text span c="dimmed">(no id)</Text>}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{person.email ?? "—"}</Table.Td>
                  <Table.Td>{when(person.created_at)}</Table.Td>
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
        <Button
          variant="default"
          disabled={!page.data?.next}
          onClick={() => page.data?.next && setStarts((s) => [...s, page.data!.next])}
        >
          Next
        </Button>
      </Group>
    </Stack>
  );
}
