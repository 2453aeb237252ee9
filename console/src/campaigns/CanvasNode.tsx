import { Badge, Group, Paper, Stack, Text } from "@mantine/core";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import type { Output } from "./graph";

export interface CanvasData extends Record<string, unknown> {
  kind: "trigger" | "block";
  title: string;
  summary: string;
  outputs: Output[];
  errors: string[];
  /** Once the campaign has run: entered / sent / waiting... (only the non-zero ones are shown). */
  metrics?: [string, number][];
}

export type CanvasNodeType = Node<CanvasData, "step">;

export const NODE_WIDTH = 220;

/** One block (or the trigger) on the canvas: title, summary, its API errors and metrics, its handles. */
export function CanvasNode({ id, data, selected }: NodeProps<CanvasNodeType>) {
  const failing = data.errors.length > 0;
  return (
    <Paper
      withBorder
      shadow={selected ? "md" : "xs"}
      p="xs"
      w={NODE_WIDTH}
      data-testid={`node-${id}`}
      style={{
        borderColor: failing ? "var(--mantine-color-red-6)" : selected ? "var(--mantine-color-blue-6)" : undefined,
        borderWidth: failing || selected ? 2 : 1,
        background: data.kind === "trigger" ? "var(--mantine-color-blue-0)" : undefined,
      }}
    >
      {data.kind === "block" && <Handle type="target" position={Position.Top} aria-label={`${id}: input`} />}
      <Stack gap={2}>
        <Group justify="space-between" gap={4} wrap="nowrap">
          <Text size="xs" fw={700} tt="uppercase" c="dimmed" truncate>
            {data.title}
          </Text>
          {data.kind === "block" && (
            <Text size="xs" c="dimmed" ff="monospace">
              {id}
            </Text>
          )}
        </Group>
        <Text size="sm" lineClamp={2}>
          {data.summary}
        </Text>
        {failing &&
          data.errors.map((message) => (
            <Text key={message} size="xs" c="red" role="alert">
              {message}
            </Text>
          ))}
        {data.metrics && data.metrics.length > 0 && (
          <Group gap={4} mt={2}>
            {data.metrics.map(([metric, count]) => (
              <Badge key={metric} size="xs" variant="light" color="teal">
                {metric.replace(/_/g, " ")} {count}
              </Badge>
            ))}
          </Group>
        )}
      </Stack>
      {data.outputs.map((out, i) => {
        const left = `${((i + 1) / (data.outputs.length + 1)) * 100}%`;
        return (
          <div key={out.handle}>
            <Handle type="source" position={Position.Bottom} id={out.handle} style={{ left }} aria-label={`${id}: ${out.label || "next"}`} />
            {out.label && (
              <Text size="10px" c="dimmed" style={{ position: "absolute", bottom: -18, left, transform: "translateX(-50%)", whiteSpace: "nowrap" }}>
                {out.label}
              </Text>
            )}
          </div>
        );
      })}
    </Paper>
  );
}
