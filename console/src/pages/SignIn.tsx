import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title, Text } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useSession } from "../session";

export function SignIn() {
  const { signIn } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(email.trim(), password);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
      setBusy(false);
    }
  }

  const wrong = error?.status === 401;
  return (
    <Center mih="100vh" p="md" bg="gray.0">
      <Paper component="form" onSubmit={submit} withBorder shadow="sm" p="xl" w={380} maw="100%">
        <Stack>
          <div>
            <Title order={2}>Sign in to Nudge</Title>
            <Text c="dimmed" size="sm">
              Use the email and password your workspace admin gave you.
            </Text>
          </div>
          <TextInput
            label="Email"
            type="email"
            autoComplete="username"
            required
            autoFocus
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            error={error?.field("email")}
          />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={error?.field("password")}
          />
          {error && !error.field("email") && !error.field("password") && (
            <Alert color="red" role="alert">
              {wrong ? "That email and password do not match an account." : error.message}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            Sign in
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}
