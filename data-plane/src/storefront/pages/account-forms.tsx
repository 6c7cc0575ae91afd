/** @jsxRuntime automatic @jsxImportSource preact */
import { addressFields } from '../../buyers/routes.ts';
import type { I18n } from '../i18n/index.ts';

/** One thing wrong with a submitted form: at a field (by its name), or with the form as a whole. */
export interface FormProblem {
  field?: string;
  message: string;
}

/** A submitted form coming back: what the buyer typed (never a password) and what was wrong. */
export interface FormState {
  values: Record<string, string>;
  problems: FormProblem[];
}

export const emptyForm: FormState = { values: {}, problems: [] };

/** An address field's longest length in the address API's schema (which may allow null beside the string). */
export function addressMaxLength(name: string): number | undefined {
  const field = addressFields[name as keyof typeof addressFields] as {
    maxLength?: number;
    anyOf?: { maxLength?: number }[];
  };
  return field.maxLength ?? field.anyOf?.find((member) => member.maxLength !== undefined)?.maxLength;
}

export const fieldId = (form: string, field: string) => `${form}-${field.replace(/_/g, '-')}`;

/**
 * The list of a form's problems above it, announced when the page loads (role="alert"); each
 * field problem links to its field.
 */
export function ErrorSummary({
  i18n,
  form,
  problems,
}: {
  i18n: I18n;
  form: string;
  problems: FormProblem[];
}) {
  if (problems.length === 0) return null;
  const titleId = `${form}-errors-title`;
  return (
    <div class="account-error-summary" role="alert" aria-labelledby={titleId} data-testid="error-summary">
      <h2 id={titleId}>{i18n.t('account.errorSummary', { count: problems.length })}</h2>
      <ul>
        {problems.map((problem) => (
          <li>
            {problem.field ? (
              <a href={`#${fieldId(form, problem.field)}`}>{problem.message}</a>
            ) : (
              problem.message
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

export interface FieldProps {
  form: string;
  name: string;
  label: string;
  state: FormState;
  type?: 'text' | 'email' | 'password' | 'tel';
  autocomplete?: string;
  required?: boolean;
  maxLength?: number;
  minLength?: number;
  hint?: string;
  /** Shown after the label, e.g. "(optional)". */
  note?: string;
  inputMode?: 'numeric' | 'tel' | 'email' | 'text';
  dir?: 'ltr' | 'auto';
}

/** A labelled input with its hint and its error (both tied to it by aria-describedby). */
export function Field(props: FieldProps) {
  const id = fieldId(props.form, props.name);
  const error = props.state.problems.find((problem) => problem.field === props.name);
  const hintId = props.hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={error ? 'field account-field-invalid' : 'field'}>
      <label for={id}>
        {props.label}
        {props.note ? <span class="muted"> {props.note}</span> : null}
      </label>
      {props.hint ? (
        <p class="note" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      {error ? (
        <p class="account-field-error" id={errorId}>
          {error.message}
        </p>
      ) : null}
      <input
        id={id}
        name={props.name}
        // Preact types each input type apart; the field's own props already narrow it.
        type={(props.type ?? 'text') as 'text'}
        value={props.type === 'password' ? undefined : (props.state.values[props.name] ?? '')}
        autocomplete={props.autocomplete}
        required={props.required}
        maxlength={props.maxLength}
        minlength={props.minLength}
        inputmode={props.inputMode}
        dir={props.dir}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy}
      />
    </div>
  );
}
