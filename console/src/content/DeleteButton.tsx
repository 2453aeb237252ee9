import { Alert, Button, Group, Modal, Stack, Text } from "@mantine/core";
import { useState } from "react";
import { ApiError } from "../api/client";

/** "Delete …" behind a confirmation that says what deleting it does. */
export function DeleteButton({ what, consequence, onDelete }: { what: string; consequence: string; onDelete(): Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  async function confirm() {
    setBusy(true);
    setError(undefined);
    try {
      await onDelete();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, String(e), {}));
      setBusy(false);
    }
  }
  return (
    <>
      <Button variant="light" color="red" onClick={() => setOpen(true)}>
        Delete {what}
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={`Delete this ${what}?`}>
        <Stack>
          <Text size="sm">{consequence}</Text>
          {error && (
            <Alert color="red" role="alert">
              {error.message}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)} data-autofocus>
              Keep it
            </Button>
            <Button color="red" loading={busy} onClick={() => void confirm()}>
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
