import type { KubeObject, ResourceType } from './resources.js';

/**
 * Server-side printing (meta.k8s.io/v1 Table), what `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io, …, application/json`.
 */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((entry) => {
    const params = entry.split(';').map((part) => part.trim());
    return params[0] === 'application/json' && params.includes('as=Table') && params.includes('g=meta.k8s.io') && (params.includes('v=v1') || params.includes('v=v1beta1'));
  });
}

export const TABLE_CONTENT_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  options: { resourceVersion?: string; continue?: string; includeObject: IncludeObject; headers?: boolean },
): Record<string, unknown> {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}), ...(options.continue ? { continue: options.continue } : {}) },
    ...(options.headers === false
      ? {}
      : {
          columnDefinitions: type.columns.map((column) => ({
            name: column.name,
            type: column.type,
            format: column.format ?? '',
            description: column.description,
            priority: column.priority,
          })),
        }),
    rows: objects.map((object) => ({
      cells: type.columns.map((column) => column.cell(object, now)),
      ...(options.includeObject === 'None'
        ? {}
        : {
            object:
              options.includeObject === 'Object'
                ? object
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
          }),
    })),
  };
}
