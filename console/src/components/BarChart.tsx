import { Box, Group, Text } from "@mantine/core";

/** A plain SVG bar chart (no charting library on the first screen). The bars stretch to the card's width;
 * the numbers are also a table for screen readers. */
export function BarChart({ data, label }: { data: { day: string; count: number }[]; label: string }) {
  const max = Math.max(1, ...data.map((d) => d.count));
  const slot = 10;
  const width = slot * Math.max(1, data.length);
  const height = 100;
  return (
    <Box>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" width="100%" height={180} aria-hidden style={{ display: "block" }}>
        {data.map((d, i) => {
          const h = (d.count / max) * height;
          return (
            <rect key={d.day} x={i * slot + 1} y={height - h} width={slot - 2} height={h} fill="var(--mantine-color-indigo-5)">
              <title>{`${d.day}: ${d.count}`}</title>
            </rect>
          );
        })}
      </svg>
      <Group justify="space-between" mt={4}>
        <Text size="xs" c="dimmed">
          {data[0]?.day}
        </Text>
        <Text size="xs" c="dimmed">
          busiest day: {data.some((d) => d.count) ? max : 0}
        </Text>
        <Text size="xs" c="dimmed">
          {data[data.length - 1]?.day}
        </Text>
      </Group>
      <table style={{ position: "absolute", width: 1, height: 1, overflow: "hidden", clip: "rect(0 0 0 0)" }}>
        <caption>{label}</caption>
        <tbody>
          {data.map((d) => (
            <tr key={d.day}>
              <th scope="row">{d.day}</th>
              <td>{d.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Box>
  );
}
