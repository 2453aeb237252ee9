import { Paper, Text, Title } from "@mantine/core";

export default function ComingNext({ screen }: { screen: string }) {
  return (
    <Paper withBorder p="xl">
      <Title order={2}>{screen}</Title>
      <Text c="dimmed" mt="sm">
        Coming next: this screen is being built. Until then the App API serves everything it will show
        (see the README).
      </Text>
    </Paper>
  );
}
