import { AppShell, Badge, Burger, Button, Group, NavLink, NativeSelect, Stack, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useEffect, useState, type ReactNode } from "react";
import { NavLink as RouterLink, useLocation } from "react-router";
import { useSession } from "./session";

const NAVIGATION = [
  { to: "/", label: "Overview" },
  { to: "/people", label: "People" },
  { to: "/segments", label: "Segments" },
  { to: "/campaigns", label: "Campaigns" },
  { to: "/content", label: "Content" },
  { to: "/messages", label: "Messages" },
  { to: "/billing", label: "Plans & Billing" },
  { to: "/settings", label: "Settings" },
];

/** Whether this console is served by `nudge local`, whose outbox page then belongs in the navigation. */
export function useLocalRuntime(): boolean {
  const [local, setLocal] = useState(false);
  useEffect(() => {
    fetch("/_local/health", { credentials: "same-origin" })
      .then((r) => setLocal(r.ok && (r.headers.get("content-type") ?? "").includes("json")))
      .catch(() => setLocal(false));
  }, []);
  return local;
}

export function Shell({ children }: { children: ReactNode }) {
  const local = useLocalRuntime();
  const { session, workspace, chooseWorkspace, signOut } = useSession();
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const active = (to: string) => (to === "/" ? location.pathname === "/" : location.pathname.startsWith(to));

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 230, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={3} c="indigo">
              Nudge
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            {session && session.workspaces.length > 1 ? (
              <NativeSelect
                aria-label="Workspace"
                size="xs"
                value={workspace?.id}
                onChange={(e) => chooseWorkspace(e.currentTarget.value)}
                data={session.workspaces.map((w) => ({ value: w.id, label: w.name }))}
              />
            ) : (
              <Text size="sm" fw={500} visibleFrom="xs">
                {workspace?.name}
              </Text>
            )}
            {workspace && (
              <Badge variant="light" data-testid="role">
                {workspace.role}
              </Badge>
            )}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" aria-label="Main">
        <Stack justify="space-between" h="100%">
          <div>
            {NAVIGATION.map((item) => (
              <NavLink
                key={item.to}
                component={RouterLink}
                to={item.to}
                label={item.label}
                active={active(item.to)}
                onClick={close}
              />
            ))}
            {local && (
              <NavLink href="/_local/outbox.html" target="_blank" rel="noopener" label="Local outbox ↗" />
            )}
          </div>
          <Stack gap={4}>
            <Text size="xs" c="dimmed" truncate>
              Signed in as {session?.email}
            </Text>
            <Button variant="default" size="xs" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Stack>
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main>{workspace ? children : <Text>You are not a member of any workspace yet: ask an admin to add you.</Text>}</AppShell.Main>
    </AppShell>
  );
}
