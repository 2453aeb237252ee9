import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { StreamLanguage, bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { jinja2 } from "@codemirror/legacy-modes/mode/jinja2";
import { Compartment, EditorState } from "@codemirror/state";
import { EditorView, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { Input } from "@mantine/core";
import { useEffect, useId, useRef } from "react";

// A light code editor for template sources (CodeMirror 6: the view, history and a stream mode for the
// {{ }} / {% %} tags Liquid and Jinja share), loaded with the Content screen only. Tab is left to move
// focus (no indent-with-Tab binding), so the form stays usable with the keyboard.
const tags = StreamLanguage.define(jinja2);
const theme = EditorView.theme({
  "&": { fontSize: "13px", border: "1px solid var(--mantine-color-gray-4)", borderRadius: "4px" },
  "&.cm-focused": { outline: "2px solid var(--mantine-color-blue-5)", outlineOffset: "-1px" },
  ".cm-content": { fontFamily: "var(--mantine-font-family-monospace)" },
  ".cm-scroller": { overflow: "auto" },
});
const invalidTheme = EditorView.theme({ "&": { borderColor: "var(--mantine-color-red-6)" } });

export interface CodeEditorProps {
  label: string;
  description?: string;
  value: string;
  onChange(value: string): void;
  readOnly?: boolean;
  error?: string;
  minHeight?: number;
  maxHeight?: number;
}

export function CodeEditor({ label, description, value, onChange, readOnly = false, error, minHeight = 220, maxHeight = 480 }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;
  const settings = useRef(new Compartment());
  const id = useId();
  const labelId = `${id}-label`;
  const descriptionId = `${id}-description`;
  const errorId = `${id}-error`;

  // What may change after mounting: read-only, and what assistive technology is told about the field.
  const reconfigured = () => [
    EditorState.readOnly.of(readOnly),
    EditorView.editable.of(!readOnly),
    EditorView.contentAttributes.of({
      "aria-labelledby": labelId,
      "aria-describedby": [description ? descriptionId : "", error ? errorId : ""].filter(Boolean).join(" "),
      "aria-invalid": error ? "true" : "false",
    }),
    error ? invalidTheme : [],
  ];

  useEffect(() => {
    if (!host.current) return;
    const created = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          highlightActiveLine(),
          bracketMatching(),
          tags,
          syntaxHighlighting(defaultHighlightStyle),
          EditorView.lineWrapping,
          keymap.of([...defaultKeymap, ...historyKeymap]),
          theme,
          EditorView.theme({ ".cm-content, .cm-gutter": { minHeight: `${minHeight}px` }, "&": { maxHeight: `${maxHeight}px` } }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) changed.current(update.state.doc.toString());
          }),
          settings.current.of(reconfigured()),
        ],
      }),
    });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
    // Created once; later changes go through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: settings.current.reconfigure(reconfigured()) });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [readOnly, error, description]);

  // A value set from outside (a template loaded, a language switched) replaces the text.
  useEffect(() => {
    const current = view.current;
    if (current && current.state.doc.toString() !== value) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value } });
    }
  }, [value]);

  return (
    <Input.Wrapper
      label={label}
      description={description}
      error={error}
      labelProps={{ id: labelId, onClick: () => view.current?.focus() }}
      descriptionProps={{ id: descriptionId }}
      errorProps={{ id: errorId, role: "alert" }}
    >
      <div ref={host} data-testid={`editor-${label}`} style={{ marginTop: 4 }} />
    </Input.Wrapper>
  );
}
