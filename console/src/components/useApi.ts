import { useCallback, useEffect, useState } from "react";
import { ApiError } from "../api/client";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when its dependencies change (and on reload), dropping answers a newer call overtook. */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    run(controller.signal)
      .then((answer) => {
        if (controller.signal.aborted) return;
        setData(answer);
        setLoading(false);
      })
      .catch((failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
        setLoading(false);
      });
    return () => controller.abort();
  }, [run, round]);

  return { data, error, loading, reload: () => setRound((n) => n + 1) };
}
