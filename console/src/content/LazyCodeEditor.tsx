import { Input, Skeleton } from "@mantine/core";
import { Suspense, lazy } from "react";
import type { CodeEditorProps } from "./CodeEditor";

// CodeMirror is most of the Content screen's weight (about 75 KB gzipped): its own chunk, loaded when an
// editor opens, so the lists of templates, layouts and snippets stay light.
const Editor = lazy(() => import("./CodeEditor").then((module) => ({ default: module.CodeEditor })));

export function CodeEditor(props: CodeEditorProps) {
  return (
    <Suspense
      fallback={
        <Input.Wrapper label={props.label} description={props.description}>
          <Skeleton height={props.minHeight ?? 220} mt={4} aria-hidden />
        </Input.Wrapper>
      }
    >
      <Editor {...props} />
    </Suspense>
  );
}
