import { h } from './dom.js';

export interface FilterField {
  name: string;
  label: string;
  type?: 'text' | 'datetime' | 'select';
  options?: string[];
  placeholder?: string;
}

/**
 * A filter bar whose values live in the page URL (so a filtered view can be bookmarked and
 * shared); submitting navigates to the same page with the new query string.
 */
export function filterForm(fields: FilterField[], params: URLSearchParams, onApply: (query: string) => void): HTMLFormElement {
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const controls = fields.map((field) => {
    const value = params.get(field.name) ?? '';
    let input: HTMLInputElement | HTMLSelectElement;
    if (field.type === 'select') {
      input = h('select', { name: field.name }, ...(field.options ?? []).map((option) => h('option', { value: option }, option || 'any')));
      input.value = value;
    } else {
      input = h('input', { name: field.name, type: field.type === 'datetime' ? 'datetime-local' : 'text', value, placeholder: field.placeholder ?? '' });
    }
    inputs.set(field.name, input);
    return h('label', {}, field.label, input);
  });
  return h(
    'form',
    {
      class: 'filters',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        for (const [name, input] of inputs) if (input.value.trim()) query.set(name, input.value.trim());
        const text = query.toString();
        onApply(text ? `?${text}` : '');
      },
    },
    ...controls,
    h('button', { type: 'submit' }, 'Apply'),
  );
}

/** Field values from the URL, for the API call. */
export function filterValues(fields: FilterField[], params: URLSearchParams): Record<string, string | undefined> {
  return Object.fromEntries(fields.map((field) => [field.name, params.get(field.name) ?? undefined]));
}
