import { AppShell, Badge, Burger, Button, Group, NavLink, NativeSelect, Stack, Text, Title } from "@mantine/core";
import { useDisclosure, useMediaQuery } from "@mantine/hooks";
import { useEffect, useState, type MouseEvent, type ReactNode } from "react";
import { NavLink as RouterLink, useLocation } from "react-router";
import { useSession } from "./session";

const NAVIGATION = [
  { to: "/", label: "Overview" },
  { to: "/people", label: "People" },
  { to: "/segments", label: "Segments" },
  { to: "/campaigns", label: "Campaigns" },
  { to: "/newsletters", label: "Newsletters" },
  { to: "/content", label: "Content" },
  { to: "/messages", label: "Messages" },
  { to: "/billing", label: "Plans & Billing" },
  { to: "/settings", label: "Settings" },
];

/** The first stop of the Tab key on every screen: straight to the screen's content, past the navigation.
 * Out of sight until it has focus. */
function SkipToContent() {
  const [focused, setFocused] = useState(false);
  const hidden = { position: "absolute", left: -10000, top: "auto", width: 1, height: 1, overflow: "hidden" } as const;
  return (
    <Button
      component="a"
      href="#content"
      size="xs"
      onFocus={() => setFocused(true)}
      onBlur={() => setFocused(false)}
      onClick={(event: MouseEvent<HTMLAnchorElement>) => {
        // Focus moves without touching the URL: the router owns it.
        event.preventDefault();
        document.getElementById("content")?.focus();
      }}
      style={focused ? { position: "absolute", left: 8, top: 8, zIndex: 1000 } : hidden}
    >
      Skip navigation
    </Button>
  );
}

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
  // Below the "sm" breakpoint the navigation is folded away: while it is, its links leave the tab order
  // too (inert), so a keyboard user never lands on a link they cannot see.
  const phone = useMediaQuery("(max-width: 48em)") ?? false;
  const location = useLocation();
  const active = (to: string) => (to === "/" ? location.pathname === "/" : location.pathname.startsWith(to));

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 230, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <SkipToContent />
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label="Toggle navigation"
              aria-expanded={opened}
              aria-controls="navigation"
            />
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
      <AppShell.Navbar p="sm" aria-label="Main" id="navigation" inert={phone && !opened}>
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
      <AppShell.Main id="content" tabIndex={-1} style={{ outline: "none" }}>{workspace ? children : <Text>You are not a member of any workspace yet: ask an admin to add you.</Text>}</AppShell.Main>
    </AppShell>
  );
}
