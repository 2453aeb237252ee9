import { Alert, Button, Stack } from "@mantine/core";
import type { More } from "./useMore";

/** The button under a paged list, while the API has more; a failed page is said beside it. */
export function ShowMore<T>({ list, label }: { list: More<T>; label: string }) {
  if (!list.hasMore) return null;
  return (
    <Stack gap="xs" mt="sm" align="flex-start">
      {list.moreError && (
        <Alert color="red" role="alert" py="xs">
          {list.moreError.message}
        </Alert>
      )}
      <Button size="xs" variant="default" loading={list.moreBusy} onClick={list.more}>
        {label}
      </Button>
    </Stack>
  );
}
