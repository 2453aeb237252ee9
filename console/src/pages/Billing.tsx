import { Accordion, Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { api, seg } from "../api/client";
import type { BillingUsage, Invoice, InvoiceLine, InvoiceSummary } from "../api/types";
import { Empty, Loadable } from "../components/States";
import { channelName, money, number } from "../components/format";
import { useApi } from "../components/useApi";

interface Counted {
  opening: number;
  new: number;
  billable: number;
  included: number;
  over: number;
  created: number;
  deleted: number;
}

// The first invoice of all (the first period's base fee, in advance) has a period start of "<day>-opening".
const OPENING = "-opening";

function invoiceTitle(inv: InvoiceSummary): string {
  const opening = inv.period.start.endsWith(OPENING);
  const start = opening ? inv.period.start.slice(0, -OPENING.length) : inv.period.start;
  return `${inv.issued_on} · ${opening ? "opening invoice · " : ""}${inv.plan} · ${start} to ${inv.period.end} · ${money(inv.total_cents, inv.currency)}`;
}

function Lines({ lines, subtotal, tax, total, testId }: { lines: InvoiceLine[]; subtotal: number; tax: number; total: number; testId: string }) {
  return (
    <Table>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Line</Table.Th>
          <Table.Th ta="right">Quantity</Table.Th>
          <Table.Th ta="right">Amount</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {lines.map((line, i) => (
          <Table.Tr key={i}>
            <Table.Td>{line.description}</Table.Td>
            <Table.Td ta="right">{number.format(line.quantity)}</Table.Td>
            <Table.Td ta="right">{money(line.amount_cents)}</Table.Td>
          </Table.Tr>
        ))}
        <Table.Tr>
          <Table.Td colSpan={2}>Subtotal</Table.Td>
          <Table.Td ta="right">{money(subtotal)}</Table.Td>
        </Table.Tr>
        <Table.Tr>
          <Table.Td colSpan={2}>Tax</Table.Td>
          <Table.Td ta="right">{money(tax)}</Table.Td>
        </Table.Tr>
        <Table.Tr>
          <Table.Th colSpan={2}>Total</Table.Th>
          <Table.Th ta="right" data-testid={testId}>
            {money(total)}
          </Table.Th>
        </Table.Tr>
      </Table.Tbody>
    </Table>
  );
}

function Allowance({ label, used }: { label: string; used: Counted }) {
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">
        {label} this period
      </Text>
      <Text fz={28} fw={700} data-testid={`billable-${label}`}>
        {number.format(used.billable)}
      </Text>
      <Text size="xs" c="dimmed">
        of {number.format(used.included)} in your plan{used.over ? `, ${number.format(used.over)} over` : ""} · {number.format(used.created)} added, {number.format(used.deleted)} deleted
      </Text>
    </Card>
  );
}

function InvoiceDetail({ id }: { id: string }) {
  const state = useApi((signal) => api.get<{ invoice: Invoice }>(`/v1/billing/invoices/${seg(id)}`, { signal }), [id]);
  return <Loadable state={state}>{({ invoice }) => <Lines lines={invoice.lines} subtotal={invoice.subtotal_cents} tax={invoice.tax.amount_cents} total={invoice.total_cents} testId={`invoice-total-${id}`} />}</Loadable>;
}

export default function Billing() {
  // An invoice's lines are read when it is opened, not for every invoice listed.
  const [opened, setOpened] = useState<string | null>(null);
  const usage = useApi((signal) => api.get<BillingUsage>("/v1/billing/usage", { signal }), []);
  const invoices = useApi((signal) => api.get<{ invoices: InvoiceSummary[] }>("/v1/billing/invoices", { signal }), []);
  return (
    <Stack>
      <Title order={2}>Plans & Billing</Title>
      <Loadable state={usage} label="Loading this period's usage">
        {(data) => {
          const people = data.usage.people as Counted;
          const objects = data.usage.objects as Counted;
          const messages = data.usage.messages as { by_channel: Record<string, number>; billable: number; included: number; over: number };
          return (
            <>
              <Group gap="xs">
                <Badge size="lg" variant="light" data-testid="plan">
                  {data.plan.name} plan
                </Badge>
                <Text size="sm" c="dimmed">
                  billed {data.plan.billed} · this period {data.period.start} to {data.period.end}
                </Text>
              </Group>
              <Text size="sm">
                You are billed for the most people you had at any point in the period (the high watermark): everyone you had when it began plus everyone added since, including people you deleted.
              </Text>
              <SimpleGrid cols={{ base: 1, xs: 3 }}>
                <Allowance label="People" used={people} />
                <Allowance label="Objects" used={objects} />
                <Card withBorder>
                  <Text size="sm" c="dimmed">
                    Messages this period
                  </Text>
                  <Text fz={28} fw={700} data-testid="billable-Messages">
                    {number.format(messages.billable)}
                  </Text>
                  <Text size="xs" c="dimmed">
                    of {number.format(messages.included)} in your plan{messages.over ? `, ${number.format(messages.over)} over` : ""}
                  </Text>
                  <Group gap="sm">
                    {Object.entries(messages.by_channel).map(([channel, count]) => (
                      <Text key={channel} size="xs" c="dimmed">
                        {channelName(channel)} {number.format(count)}
                      </Text>
                    ))}
                  </Group>
                </Card>
              </SimpleGrid>
              <Card withBorder>
                <Title order={4}>Estimated upcoming bill</Title>
                <Lines lines={data.estimate.lines} subtotal={data.estimate.subtotal_cents} tax={data.estimate.tax.amount_cents} total={data.estimate.total_cents} testId="estimate-total" />
              </Card>
            </>
          );
        }}
      </Loadable>
      <Card withBorder>
        <Title order={4} mb="xs">
          Billing history
        </Title>
        <Loadable state={invoices} label="Loading invoices">
          {(data) =>
            data.invoices.length === 0 ? (
              <Empty title="No invoices yet" />
            ) : (
              <Accordion value={opened} onChange={setOpened}>
                {data.invoices.map((inv) => (
                  <Accordion.Item key={inv.id} value={inv.id}>
                    <Accordion.Control>
                      {invoiceTitle(inv)}
                    </Accordion.Control>
                    <Accordion.Panel>
                      {opened === inv.id && <InvoiceDetail id={inv.id} />}
                    </Accordion.Panel>
                  </Accordion.Item>
                ))}
              </Accordion>
            )
          }
        </Loadable>
      </Card>
    </Stack>
  );
}
