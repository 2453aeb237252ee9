import { Alert, Badge, Button, Card, Code, Group, Modal, NativeSelect, NumberInput, PasswordInput, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Title } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { ApiError, api, seg } from "../api/client";
import type { Role } from "../api/types";
import { Empty, Loadable } from "../components/States";
import { when } from "../components/format";
import { useApi } from "../components/useApi";
import { useSession } from "../session";
import SubscriptionTopics from "./SubscriptionTopics";

interface Delivery {
  from: string | null;
  reply_to: string | null;
  smtp: { host: string; port: number; username: string | null; security: string; password_set: boolean } | null;
  message_limit: { count: number; days: number } | null;
  sending_rate: number | null;
  template_language: "liquid" | "jinja";
  webhook_signing_key: string | null; // admins only (null for other roles)
}

interface ApiKey {
  id: string;
  type: "app" | "track";
  name: string;
  created_at: number;
  rotated_at: number | null;
  site_id?: string;
  secret?: string;
}

interface Member {
  email: string;
  role: Role;
  created_at: number;
}

function failure(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, String(error), {});
}

function Unplaced({ error, fields }: { error?: ApiError; fields: string[] }) {
  if (!error || fields.some((f) => error.field(f))) return null;
  return (
    <Alert color="red" role="alert">
      {error.message}
    </Alert>
  );
}

function DeliveryForm({ current, readOnly }: { current: Delivery; readOnly: boolean }) {
  const [from, setFrom] = useState(current.from ?? "");
  const [replyTo, setReplyTo] = useState(current.reply_to ?? "");
  const [rate, setRate] = useState<number | string>(current.sending_rate ?? "");
  const [limitCount, setLimitCount] = useState<number | string>(current.message_limit?.count ?? "");
  const [limitDays, setLimitDays] = useState<number | string>(current.message_limit?.days ?? "");
  const [host, setHost] = useState(current.smtp?.host ?? "");
  const [port, setPort] = useState<number | string>(current.smtp?.port ?? 587);
  const [username, setUsername] = useState(current.smtp?.username ?? "");
  const [password, setPassword] = useState("");
  const [security, setSecurity] = useState(current.smtp?.security ?? "starttls");
  const [language, setLanguage] = useState(current.template_language ?? "liquid");
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(false);
    const smtp = host.trim()
      ? { host: host.trim(), port: Number(port), security, ...(username ? { username } : {}), ...(password ? { password } : {}) }
      : null;
    try {
      await api.put("/v1/settings/delivery", {
        from: from.trim() || null,
        reply_to: replyTo.trim() || null,
        ...(rate === "" ? {} : { sending_rate: Number(rate) }),
        message_limit: limitCount === "" ? null : { count: Number(limitCount), days: Number(limitDays || 1) },
        smtp,
        template_language: language,
      });
      setSaved(true);
      setPassword("");
    } catch (e) {
      setError(failure(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Stack component="form" onSubmit={save} maw={640}>
      {/* One column on a phone; the API's refusals at the field they name (pointers like /smtp/port). */}
      <SimpleGrid cols={{ base: 1, xs: 2 }}>
        <TextInput label="Sender (from)" placeholder="Acme <hello@acme.com>" value={from} readOnly={readOnly} onChange={(e) => setFrom(e.currentTarget.value)} error={error?.field("from")} />
        <TextInput label="Reply-to" value={replyTo} readOnly={readOnly} onChange={(e) => setReplyTo(e.currentTarget.value)} error={error?.field("reply_to")} />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, xs: 3 }}>
        <NumberInput label="Sending rate (a second)" min={1} value={rate} readOnly={readOnly} onChange={setRate} error={error?.field("sending_rate")} />
        <NumberInput
          label="Message limit per person"
          description="Empty: no limit"
          min={1}
          value={limitCount}
          readOnly={readOnly}
          onChange={setLimitCount}
          error={error?.field("message_limit/count") ?? error?.fields["message_limit"]}
        />
        <NumberInput label="…within days" min={1} max={365} value={limitDays} readOnly={readOnly} onChange={setLimitDays} error={error?.field("message_limit/days")} />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, xs: 2 }}>
        <NativeSelect
          label="New templates are written in"
          value={language}
          disabled={readOnly}
          onChange={(e) => setLanguage(e.currentTarget.value as Delivery["template_language"])}
          data={[{ value: "liquid", label: "Liquid" }, { value: "jinja", label: "Jinja" }]}
          error={error?.field("template_language")}
        />
        {current.webhook_signing_key && (
          // Admins only, hidden until asked for: it verifies the X-Nudge-Signature of webhook messages.
          <PasswordInput label="Webhook signing key" description="Checks the X-Nudge-Signature of webhook messages" value={current.webhook_signing_key} readOnly />
        )}
      </SimpleGrid>
      <Title order={5}>Your own SMTP server (optional)</Title>
      <SimpleGrid cols={{ base: 1, xs: 3 }}>
        <TextInput label="SMTP host" value={host} readOnly={readOnly} onChange={(e) => setHost(e.currentTarget.value)} error={error?.field("smtp/host") ?? error?.fields["smtp"]} />
        <NumberInput label="SMTP port" value={port} readOnly={readOnly} onChange={setPort} error={error?.field("smtp/port")} />
        <NativeSelect label="Security" value={security} disabled={readOnly} onChange={(e) => setSecurity(e.currentTarget.value)} data={["starttls", "tls", "none"]} error={error?.field("smtp/security")} />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, xs: 2 }}>
        <TextInput label="SMTP username" value={username} readOnly={readOnly} onChange={(e) => setUsername(e.currentTarget.value)} error={error?.field("smtp/username")} />
        <PasswordInput
          label="SMTP password"
          placeholder={current.smtp?.password_set ? "set (leave empty to keep it)" : ""}
          value={password}
          readOnly={readOnly}
          onChange={(e) => setPassword(e.currentTarget.value)}
          error={error?.field("smtp/password")}
        />
      </SimpleGrid>
      <Unplaced error={error} fields={["from", "reply_to", "sending_rate", "message_limit", "smtp", "template_language"]} />
      {saved && (
        <Alert color="green" role="status">
          Saved.
        </Alert>
      )}
      {!readOnly && (
        <Button type="submit" loading={busy} w="fit-content">
          Save delivery settings
        </Button>
      )}
    </Stack>
  );
}

function Secret({ value, onClose }: { value: { title: string; lines: [string, string][] } | null; onClose(): void }) {
  return (
    <Modal opened={value !== null} onClose={onClose} title={value?.title}>
      <Stack>
        <Text size="sm">Copy it now: it is shown only this once.</Text>
        {value?.lines.map(([label, text]) => (
          <div key={label}>
            <Text size="xs" c="dimmed">
              {label}
            </Text>
            <Code block data-testid="secret">
              {text}
            </Code>
          </div>
        ))}
        <Button onClick={onClose}>Done</Button>
      </Stack>
    </Modal>
  );
}

function Keys() {
  const state = useApi((signal) => api.get<{ api_keys: ApiKey[] }>("/v1/api_keys", { signal }), []);
  const [type, setType] = useState<"app" | "track">("app");
  const [name, setName] = useState("");
  const [error, setError] = useState<ApiError>();
  const [secret, setSecret] = useState<{ title: string; lines: [string, string][] } | null>(null);
  const [confirm, setConfirm] = useState<ApiKey | null>(null);

  const reveal = (key: ApiKey, verb: string) =>
    setSecret({
      title: `${key.name}: ${verb}`,
      lines: key.type === "track" ? [["Site id", key.site_id ?? ""], ["Track API key", key.secret ?? ""]] : [["App API key", key.secret ?? ""]],
    });

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      const answer = await api.post<{ api_key: ApiKey }>("/v1/api_keys", { type, name });
      setName("");
      reveal(answer.api_key, "new key");
      state.reload();
    } catch (e) {
      setError(failure(e));
    }
  }

  async function rotate(key: ApiKey) {
    setError(undefined);
    try {
      reveal((await api.post<{ api_key: ApiKey }>(`/v1/api_keys/${seg(key.id)}/rotate`)).api_key, "new secret");
      state.reload();
    } catch (e) {
      setError(failure(e));
    }
  }

  async function revoke(key: ApiKey) {
    setError(undefined);
    setConfirm(null);
    try {
      await api.delete(`/v1/api_keys/${seg(key.id)}`);
      state.reload();
    } catch (e) {
      setError(failure(e));
    }
  }

  return (
    <Stack>
      <Group component="form" onSubmit={create} align="flex-end">
        <NativeSelect label="Key type" value={type} onChange={(e) => setType(e.currentTarget.value as "app" | "track")} data={[{ value: "app", label: "App API" }, { value: "track", label: "Track API" }]} error={error?.field("type")} />
        <TextInput label="Key name" placeholder="website" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={error?.field("name")} />
        <Button type="submit">Create key</Button>
      </Group>
      <Unplaced error={error} fields={["type", "name"]} />
      <Loadable state={state} label="Loading keys">
        {(data) =>
          data.api_keys.length === 0 ? (
            <Empty title="No keys" />
          ) : (
            <Table.ScrollContainer minWidth={560}>
              <Table>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Type</Table.Th>
                    <Table.Th>Created</Table.Th>
                    <Table.Th>Rotated</Table.Th>
                    <Table.Th />
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.api_keys.map((key) => (
                    <Table.Tr key={key.id}>
                      <Table.Td>{key.name}</Table.Td>
                      <Table.Td>
                        <Badge variant="light">{key.type}</Badge>
                      </Table.Td>
                      <Table.Td>{when(key.created_at)}</Table.Td>
                      <Table.Td>{when(key.rotated_at)}</Table.Td>
                      <Table.Td>
                        <Group gap="xs" justify="flex-end" wrap="nowrap">
                          <Button size="compact-sm" variant="default" onClick={() => void rotate(key)} aria-label={`Rotate ${key.name}`}>
                            Rotate
                          </Button>
                          <Button size="compact-sm" variant="light" color="red" onClick={() => setConfirm(key)} aria-label={`Revoke ${key.name}`}>
                            Revoke
                          </Button>
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </Loadable>
      <Secret value={secret} onClose={() => setSecret(null)} />
      <Modal opened={confirm !== null} onClose={() => setConfirm(null)} title={`Revoke ${confirm?.name}?`}>
        <Stack>
          <Text size="sm">Programs using it stop working at once.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirm(null)}>
              Cancel
            </Button>
            <Button color="red" onClick={() => confirm && void revoke(confirm)}>
              Revoke
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

const ROLES: Role[] = ["admin", "author", "viewer"];

function Members() {
  const { session } = useSession();
  const state = useApi((signal) => api.get<{ members: Member[] }>("/v1/members", { signal }), []);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("author");
  const [error, setError] = useState<ApiError>();
  const [secret, setSecret] = useState<{ title: string; lines: [string, string][] } | null>(null);

  async function add(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      const answer = await api.post<{ member: Member; password: string | null }>("/v1/members", { email, role });
      setEmail("");
      // A temporary password: it signs in once, to choose their own (the sign-in page asks for it).
      if (answer.password) setSecret({ title: `${answer.member.email} can sign in once to choose a password`, lines: [["Email", answer.member.email], ["Temporary password", answer.password]] });
      state.reload();
    } catch (e) {
      setError(failure(e));
    }
  }

  async function change(member: Member, next: string) {
    setError(undefined);
    try {
      if (next === "remove") await api.delete(`/v1/members/${seg(member.email)}`);
      else await api.put(`/v1/members/${seg(member.email)}`, { role: next });
      state.reload();
    } catch (e) {
      setError(failure(e));
    }
  }

  return (
    <Stack>
      <Group component="form" onSubmit={add} align="flex-end">
        <TextInput label="Member email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={error?.field("email")} />
        <NativeSelect label="Member role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)} data={ROLES} error={error?.field("role")} />
        <Button type="submit">Add member</Button>
      </Group>
      <Unplaced error={error} fields={["email", "role"]} />
      <Loadable state={state} label="Loading members">
        {(data) => (
          <Table>
            <Table.Tbody>
              {data.members.map((member) => (
                <Table.Tr key={member.email}>
                  <Table.Td>{member.email}</Table.Td>
                  <Table.Td w={200}>
                    <NativeSelect
                      aria-label={`Role of ${member.email}`}
                      size="xs"
                      value={member.role}
                      disabled={member.email === session?.email}
                      onChange={(e) => void change(member, e.currentTarget.value)}
                      data={[...ROLES, { value: "remove", label: "remove from workspace" }]}
                    />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loadable>
      <Secret value={secret} onClose={() => setSecret(null)} />
    </Stack>
  );
}

export default function Settings() {
  const { can } = useSession();
  const admin = can("admin");
  const delivery = useApi((signal) => api.get<{ delivery: Delivery }>("/v1/settings/delivery", { signal }), []);
  return (
    <Stack>
      <Title order={2}>Settings</Title>
      {!admin && <Text c="dimmed">Only admins change settings, keys and members; authors manage subscription topics.</Text>}
      <Tabs defaultValue="delivery" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="delivery">Delivery</Tabs.Tab>
          <Tabs.Tab value="subscriptions">Subscriptions</Tabs.Tab>
          {admin && <Tabs.Tab value="keys">API keys</Tabs.Tab>}
          {admin && <Tabs.Tab value="members">Members</Tabs.Tab>}
        </Tabs.List>
        <Card withBorder mt="sm">
          <Tabs.Panel value="delivery">
            <Loadable state={delivery} label="Loading delivery settings">
              {(data) => <DeliveryForm current={data.delivery} readOnly={!admin} />}
            </Loadable>
          </Tabs.Panel>
          <Tabs.Panel value="subscriptions">
            <SubscriptionTopics />
          </Tabs.Panel>
          {admin && (
            <Tabs.Panel value="keys">
              <Keys />
            </Tabs.Panel>
          )}
          {admin && (
            <Tabs.Panel value="members">
              <Members />
            </Tabs.Panel>
          )}
        </Card>
      </Tabs>
    </Stack>
  );
}
