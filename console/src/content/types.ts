// Templates, layouts and snippets as the App API answers them (the fields the Content screen edits).

export type Language = "liquid" | "jinja";

export interface Template {
  id: number;
  name: string;
  channel: string;
  language?: Language; // a template saved before languages existed reads "jinja"
  layout_id?: string;
  updated_at: number;
  [field: string]: unknown; // subject, body, title, message, and fields this screen keeps as they are
}

export interface Layout {
  id: string;
  name: string;
  body: string;
  language: Language;
  updated_at: number;
}

export interface Snippet {
  name: string;
  value: string;
  language: Language;
  updated_at: number;
}

export interface Preview {
  channel: string;
  to: string | number | null;
  subject?: string;
  html?: string;
  text?: string;
  title?: string;
  body?: string;
}

export const LANGUAGES = [
  { value: "liquid", label: "Liquid" },
  { value: "jinja", label: "Jinja" },
];

export const languageName = (language: string) => (language === "jinja" ? "Jinja" : "Liquid");

/** A hint of each language's syntax, under a source field. */
export const syntaxHint = (language: string) =>
  language === "jinja"
    ? "{{ customer.first_name|default('there') }}, {{ snippets.footer }}, {% if %}…{% endif %}"
    : '{{ customer.first_name | default: "there" }}, {{ snippets.footer }}, {% if %}…{% endif %}';
