import { Box, Text } from "@mantine/core";

/** A plain SVG bar chart (no charting library on the first screen); the numbers are also a table for
 * screen readers. */
export function BarChart({ data, label }: { data: { day: string; count: number }[]; label: string }) {
  const max = Math.max(1, ...data.map((d) => d.count));
  const width = 600;
  const height = 160;
  const gap = 2;
  const bar = width / Math.max(1, data.length);
  return (
    <Box>
      <svg
        viewBox={`0 0 ${width} ${height + 18}`}
        width="100%"
        role="img"
        aria-label={label}
        style={{ display: "block", maxHeight: 220 }}
      >
        {data.map((d, i) => {
          const h = (d.count / max) * height;
          return (
            <g key={d.day}>
              <rect
                x={i * bar + gap / 2}
                y={height - h}
                width={bar - gap}
                height={Math.max(h, d.count ? 1 : 0)}
                fill="var(--mantine-color-indigo-5)"
                rx={2}
              >
                <title>{`${d.day}: ${d.count}`}</title>
              </rect>
              {(i === 0 || i === data.length - 1) && (
                <text x={i * bar + bar / 2} y={height + 14} fontSize={11} textAnchor={i === 0 ? "start" : "end"} fill="gray">
                  {d.day}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <Text size="xs" c="dimmed">
        Highest day: {max === 1 && !data.some((d) => d.count) ? 0 : max}
      </Text>
      <table className="visually-hidden" style={{ position: "absolute", width: 1, height: 1, overflow: "hidden", clip: "rect(0 0 0 0)" }}>
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
