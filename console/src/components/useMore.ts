import { useEffect, useState } from "react";
import { ApiError } from "../api/client";
import { useApi, type Loaded } from "./useApi";

export interface Paged<T> {
  items: T[];
  next: string;
}

export interface More<T> extends Loaded<T[]> {
  /** Whether the API has more after what is shown (its `next` cursor). */
  hasMore: boolean;
  /** Appends the next page to what is shown. */
  more(): void;
  moreBusy: boolean;
  moreError: ApiError | undefined;
}

/** A list read page by page with the App API's `start` / `next` cursors: the first page loads with the
 * screen, each further one is appended when asked for ("Show older"), so a long history stays one list. */
export function useMore<T>(load: (start: string, signal: AbortSignal) => Promise<Paged<T>>, deps: unknown[]): More<T> {
  const first = useApi((signal) => load("", signal), deps);
  const [later, setLater] = useState<Paged<T> | null>(null);
  const [moreBusy, setMoreBusy] = useState(false);
  const [moreError, setMoreError] = useState<ApiError>();

  // A new first page (another person, a reload) starts the list again.
  useEffect(() => {
    setLater(null);
    setMoreError(undefined);
  }, [first.data]);

  const next = later ? later.next : (first.data?.next ?? "");
  async function more() {
    if (!next || moreBusy) return;
    setMoreBusy(true);
    setMoreError(undefined);
    try {
      const page = await load(next, new AbortController().signal);
      setLater((shown) => ({ items: [...(shown?.items ?? []), ...page.items], next: page.next }));
    } catch (failure) {
      setMoreError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
    } finally {
      setMoreBusy(false);
    }
  }

  return {
    ...first,
    data: first.data ? [...first.data.items, ...(later?.items ?? [])] : undefined,
    hasMore: !!next,
    more: () => void more(),
    moreBusy,
    moreError,
  };
}
