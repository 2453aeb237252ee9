import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title, Text } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useSession } from "../session";

// The API's answer to a right but temporary password (a new member's first sign-in).
const NEW_PASSWORD_REQUIRED = "new_password_required";

export function SignIn() {
  const { signIn, setFirstPassword } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  // Set once the password proved temporary: the form then asks for the user's own.
  const [choosing, setChoosing] = useState(false);
  const [newPassword, setNewPassword] = useState("");
  const [repeated, setRepeated] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (choosing && newPassword !== repeated) {
      setError(new ApiError(400, "The two passwords differ.", { repeat: "The two passwords differ." }));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (choosing) await setFirstPassword(email.trim(), password, newPassword);
      else await signIn(email.trim(), password);
    } catch (failure) {
      const refused = failure instanceof ApiError ? failure : new ApiError(0, String(failure), {});
      if (refused.code === NEW_PASSWORD_REQUIRED) setChoosing(true);
      // The temporary password expired or was replaced meanwhile: back to the first step, which says so.
      else if (refused.status === 401) setChoosing(false);
      if (refused.code !== NEW_PASSWORD_REQUIRED) setError(refused);
      setBusy(false);
    }
  }

  const wrong = error?.status === 401;
  const shownAtField = ["email", "password", "new_password", "repeat"].some((f) => error?.field(f));
  return (
    <Center mih="100vh" p="md" bg="gray.0">
      <Paper component="form" onSubmit={submit} withBorder shadow="sm" p="xl" w={380} maw="100%">
        <Stack>
          <div>
            <Title order={2}>{choosing ? "Choose your password" : "Sign in to Nudge"}</Title>
            <Text c="dimmed" size="sm">
              {choosing
                ? "The password you were given is temporary: choose your own to finish signing in. " +
                  "At least 12 characters, with a lower-case and an upper-case letter, a digit and a symbol."
                : "Use the email and password your workspace admin gave you."}
            </Text>
          </div>
          {!choosing && (
            <>
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
            </>
          )}
          {choosing && (
            <>
              <PasswordInput
                label="New password"
                autoComplete="new-password"
                required
                autoFocus
                value={newPassword}
                onChange={(e) => setNewPassword(e.currentTarget.value)}
                error={error?.field("new_password") ?? error?.field("password")}
              />
              <PasswordInput
                label="Repeat new password"
                autoComplete="new-password"
                required
                value={repeated}
                onChange={(e) => setRepeated(e.currentTarget.value)}
                error={error?.field("repeat")}
              />
            </>
          )}
          {error && !shownAtField && (
            <Alert color="red" role="alert">
              {wrong ? "That email and password do not match an account." : error.message}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            {choosing ? "Set password and sign in" : "Sign in"}
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}
