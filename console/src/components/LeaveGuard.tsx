import { Button, Group, Modal, Text } from "@mantine/core";
import { useEffect, useState } from "react";
import { useBlocker } from "react-router";

/**
 * Asks before an editor's unsaved changes are left: for a move to another screen of the console, a dialog;
 * for a reload or a closed tab, the browser's own prompt. `current` is the editor's state as it would be
 * saved and `base` the state last saved ("" for something not saved yet: then its state when opened).
 * The editors' own moves after a save or a delete replace the history entry and are never held up.
 */
export function LeaveGuard({ current, base }: { current: string; base: string }) {
  const [opened] = useState(current);
  const unsaved = current !== (base === "" ? opened : base);
  const blocker = useBlocker(
    ({ currentLocation, nextLocation, historyAction }) =>
      unsaved && historyAction !== "REPLACE" && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (!unsaved) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [unsaved]);
  const stay = () => blocker.reset?.();
  return (
    <Modal opened={blocker.state === "blocked"} onClose={stay} title="Leave without saving?">
      <Text size="sm">The changes on this screen are not saved. Leaving discards them.</Text>
      <Group justify="flex-end" mt="md">
        <Button variant="default" onClick={stay} data-autofocus>
          Stay
        </Button>
        <Button color="red" onClick={() => blocker.proceed?.()}>
          Leave without saving
        </Button>
      </Group>
    </Modal>
  );
}
