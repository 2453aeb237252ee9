import { Alert, Button, Stack, Text } from "@mantine/core";
import { Component, type ReactNode } from "react";

/** A screen that throws while rendering (an answer of a shape it did not expect, a chunk that failed to
 * load after a deploy) shows what happened and a way back, instead of a blank page. Moving to another
 * screen starts afresh (without remounting the screens: a new campaign's URL changes under the builder). */
export class ScreenError extends Component<{ path: string; children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidUpdate(previous: { path: string }) {
    if (this.state.error && previous.path !== this.props.path) this.setState({ error: null });
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <Alert color="red" title="This screen could not be shown" role="alert">
        <Stack gap="xs" align="flex-start">
          <Text size="sm">{this.state.error.message}</Text>
          <Button size="xs" variant="light" color="red" onClick={() => window.location.reload()}>
            Reload
          </Button>
        </Stack>
      </Alert>
    );
  }
}
