import { Anchor, Badge, Button, Group, Stack, Table, Tabs, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";
import { Link, Route, Routes, useNavigate, useParams } from "react-router";
import { ApiError, api, seg } from "../api/client";
import { Empty, Failed, Loadable, Loading } from "../components/States";
import { when } from "../components/format";
import { useApi } from "../components/useApi";
import { LayoutEditor } from "../content/LayoutEditor";
import { SnippetEditor } from "../content/SnippetEditor";
import { TemplateEditor } from "../content/TemplateEditor";
import type { Layout, Snippet, Template } from "../content/types";
import { useSession } from "../session";

// Content: templates, layouts and snippets, each listed under its tab and edited on a page of its own
// (/content/:id, /content/layouts/:id, /content/snippets/:name; "new" for a new one).
const TABS = [
  { value: "templates", label: "Templates", path: "/content", blurb: "Messages for campaigns and transactional sends, per channel." },
  { value: "layouts", label: "Layouts", path: "/content/layouts", blurb: "The HTML around an email; {{ content }} places the message." },
  { value: "snippets", label: "Snippets", path: "/content/snippets", blurb: "Shared pieces of content: {{ snippets.name }} in a template or layout." },
];

function ContentTabs({ current, action, children }: { current: string; action: ReactNode; children: ReactNode }) {
  const navigate = useNavigate();
  const tab = TABS.find((t) => t.value === current)!;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Content</Title>
        {action}
      </Group>
      <Tabs value={current} onChange={(value) => navigate(TABS.find((t) => t.value === value)!.path)}>
        <Tabs.List>
          {TABS.map((t) => (
            <Tabs.Tab key={t.value} value={t.value}>
              {t.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
      </Tabs>
      <Text c="dimmed" size="sm">
        {tab.blurb}
      </Text>
      {children}
    </Stack>
  );
}

function NewButton({ to, label }: { to: string; label: string }) {
  const { can } = useSession();
  return can("edit") ? (
    <Button component={Link} to={to}>
      {label}
    </Button>
  ) : null;
}

function ListTable({ head, rows }: { head: string[]; rows: ReactNode[][] }) {
  return (
    <Table striped highlightOnHover>
      <Table.Thead>
        <Table.Tr>
          {head.map((h) => (
            <Table.Th key={h}>{h}</Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((cells, i) => (
          <Table.Tr key={i}>
            {cells.map((cell, j) => (
              <Table.Td key={j}>{cell}</Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function TemplateList() {
  const state = useApi((signal) => api.get<{ templates: Template[] }>("/v1/templates", { signal }), []);
  return (
    <ContentTabs current="templates" action={<NewButton to="/content/new" label="New template" />}>
      <Loadable state={state} label="Loading templates">
        {(data) =>
          data.templates.length === 0 ? (
            <Empty title="No templates yet" />
          ) : (
            <ListTable
              head={["Name", "Channel", "Language", "Updated"]}
              rows={data.templates.map((t) => [
                <Anchor component={Link} to={`/content/${t.id}`}>
                  {t.name}
                </Anchor>,
                <Badge variant="light">{t.channel}</Badge>,
                t.language ?? "jinja",
                when(t.updated_at),
              ])}
            />
          )
        }
      </Loadable>
    </ContentTabs>
  );
}

function LayoutList() {
  const state = useApi((signal) => api.get<{ layouts: Layout[] }>("/v1/layouts", { signal }), []);
  return (
    <ContentTabs current="layouts" action={<NewButton to="/content/layouts/new" label="New layout" />}>
      <Loadable state={state} label="Loading layouts">
        {(data) =>
          data.layouts.length === 0 ? (
            <Empty title="No layouts yet">An email without a layout is sent as its template writes it.</Empty>
          ) : (
            <ListTable
              head={["Name", "Language", "Updated"]}
              rows={[...data.layouts]
                .sort((a, b) => a.name.localeCompare(b.name))
                .map((l) => [
                  <Anchor component={Link} to={`/content/layouts/${seg(l.id)}`}>
                    {l.name}
                  </Anchor>,
                  l.language,
                  when(l.updated_at),
                ])}
            />
          )
        }
      </Loadable>
    </ContentTabs>
  );
}

function SnippetList() {
  const state = useApi((signal) => api.get<{ snippets: Snippet[] }>("/v1/snippets", { signal }), []);
  return (
    <ContentTabs current="snippets" action={<NewButton to="/content/snippets/new" label="New snippet" />}>
      <Loadable state={state} label="Loading snippets">
        {(data) =>
          data.snippets.length === 0 ? (
            <Empty title="No snippets yet" />
          ) : (
            <ListTable
              head={["Name", "Used as", "Language", "Updated"]}
              rows={data.snippets.map((s) => [
                <Anchor component={Link} to={`/content/snippets/${seg(s.name)}`}>
                  {s.name}
                </Anchor>,
                <Text ff="monospace" size="sm">{`{{ snippets.${s.name} }}`}</Text>,
                s.language,
                when(s.updated_at),
              ])}
            />
          )
        }
      </Loadable>
    </ContentTabs>
  );
}

/** Loads one item (or none, for "new") and opens its editor, keyed by what the server stored: after a new
 * item is saved the path changes before it arrives, and the form must start again from the stored one. */
function Loaded<T>({ id, path, pick, label, render }: { id: string; path: string; pick(answer: unknown): T | undefined; label: string; render(item: T | null): ReactNode }) {
  // Each answer says which item it is: until the one asked for arrives, the previous item's (kept by useApi
  // while the next loads) is not shown under the new path.
  const state = useApi(
    (signal) => (id === "new" ? Promise.resolve({ id, answer: null }) : api.get<unknown>(path, { signal }).then((answer) => ({ id, answer }))),
    [id, path],
  );
  if (state.error) return <Failed error={state.error} retry={state.reload} />;
  if (state.data === undefined || state.data.id !== id) return <Loading label={`Loading the ${label}`} />;
  const item = state.data.answer === null ? null : (pick(state.data.answer) ?? null);
  return <div key={id === "new" ? "new" : id}>{render(item)}</div>;
}

function TemplatePage() {
  const { templateId = "new" } = useParams();
  return <Loaded id={templateId} path={`/v1/templates/${seg(templateId)}`} label="template" pick={(a) => (a as { template: Template }).template} render={(t) => <TemplateEditor key={t?.id ?? "new"} template={t} />} />;
}

function LayoutPage() {
  const { layoutId = "new" } = useParams();
  return <Loaded id={layoutId} path={`/v1/layouts/${seg(layoutId)}`} label="layout" pick={(a) => (a as { layout: Layout }).layout} render={(l) => <LayoutEditor key={l?.id ?? "new"} layout={l} />} />;
}

function SnippetPage() {
  const { name = "new" } = useParams();
  // Snippets have no route of their own to read one: the list holds them all (a workspace has few).
  return (
    <Loaded
      id={name}
      path="/v1/snippets"
      label="snippet"
      pick={(a) => (a as { snippets: Snippet[] }).snippets.find((s) => s.name === name)}
      render={(s) => (s === null && name !== "new" ? <Failed error={new ApiError(404, `No snippet is named ${name}.`, {})} /> : <SnippetEditor key={s?.name ?? "new"} snippet={s} />)}
    />
  );
}

export default function Content() {
  return (
    <Routes>
      <Route index element={<TemplateList />} />
      <Route path="layouts" element={<LayoutList />} />
      <Route path="layouts/:layoutId" element={<LayoutPage />} />
      <Route path="snippets" element={<SnippetList />} />
      <Route path="snippets/:name" element={<SnippetPage />} />
      <Route path=":templateId" element={<TemplatePage />} />
    </Routes>
  );
}
