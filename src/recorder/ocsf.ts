/**
 * Where each audit event type sits in the Open Cybersecurity Schema Framework (OCSF 1.x):
 * its class and activity, so a SIEM can route Custos events without knowing them. The
 * class_uid is the category's uid × 1000 plus the class's uid; type_uid is class_uid × 100
 * plus the activity_id (OCSF's own rule). Failed attempts carry status_id 2.
 */
export interface OcsfClass {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  /** 1 success, 2 failure (OCSF status_id); null when the event is neither. */
  status_id: 1 | 2 | null;
}

const CLASSES = {
  accountChange: { class_uid: 3001, class_name: 'Account Change', category_uid: 3, category_name: 'Identity & Access Management' },
  authentication: { class_uid: 3002, class_name: 'Authentication', category_uid: 3, category_name: 'Identity & Access Management' },
  authorizeSession: { class_uid: 3003, class_name: 'Authorize Session', category_uid: 3, category_name: 'Identity & Access Management' },
  entityManagement: { class_uid: 3004, class_name: 'Entity Management', category_uid: 3, category_name: 'Identity & Access Management' },
  userAccess: { class_uid: 3005, class_name: 'User Access Management', category_uid: 3, category_name: 'Identity & Access Management' },
  sshActivity: { class_uid: 4007, class_name: 'SSH Activity', category_uid: 4, category_name: 'Network Activity' },
  webResources: { class_uid: 6001, class_name: 'Web Resources Activity', category_uid: 6, category_name: 'Application Activity' },
  lifecycle: { class_uid: 6002, class_name: 'Application Lifecycle', category_uid: 6, category_name: 'Application Activity' },
  apiActivity: { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' },
  datastore: { class_uid: 6005, class_name: 'Datastore Activity', category_uid: 6, category_name: 'Application Activity' },
  base: { class_uid: 0, class_name: 'Base Event', category_uid: 0, category_name: 'Uncategorized' },
} as const;

type ClassKey = keyof typeof CLASSES;

/** [event type, or a prefix ending in "."], class, activity id, activity name, status. First match wins. */
export const OCSF_MAPPING: ReadonlyArray<readonly [string, ClassKey, number, string, 1 | 2 | null]> = [
  ['auth.failure', 'authentication', 1, 'Logon', 2],
  ['web.signin', 'authentication', 1, 'Logon', 1],
  ['web.signout', 'authentication', 2, 'Logoff', 1],
  ['session.start', 'authentication', 1, 'Logon', 1],
  ['session.end', 'authentication', 2, 'Logoff', 1],
  ['session.interrupted', 'authentication', 2, 'Logoff', 2],
  ['session.terminate', 'authentication', 2, 'Logoff', 1],
  ['access.allow', 'authorizeSession', 1, 'Assign Privileges', 1],
  ['access.deny', 'authorizeSession', 1, 'Assign Privileges', 2],
  ['access.revoked', 'userAccess', 2, 'Revoke Privileges', 1],
  ['grant.start', 'userAccess', 1, 'Assign Privileges', 1],
  ['grant.end', 'userAccess', 2, 'Revoke Privileges', 1],
  ['permission.grant', 'accountChange', 7, 'Attach Policy', 1],
  ['permission.revoke', 'accountChange', 8, 'Detach Policy', 1],
  ['credential.revoke', 'accountChange', 5, 'Disable', 1],
  ['token.create', 'accountChange', 99, 'Other', 1],
  ['token.revoke', 'accountChange', 99, 'Other', 1],
  ['resource.create', 'entityManagement', 1, 'Create', 1],
  ['resource.update', 'entityManagement', 3, 'Update', 1],
  ['resource.delete', 'entityManagement', 4, 'Delete', 1],
  ['request.create', 'apiActivity', 1, 'Create', 1],
  ['request.approve', 'apiActivity', 3, 'Update', 1],
  ['request.deny', 'apiActivity', 3, 'Update', 1],
  ['request.revoke', 'apiActivity', 4, 'Delete', 1],
  ['request.expire', 'apiActivity', 3, 'Update', 1],
  ['ssh.hostkey.mismatch', 'sshActivity', 4, 'Fail', 2],
  ['ssh.port-forward.end', 'sshActivity', 6, 'Traffic', 1],
  ['ssh.', 'sshActivity', 5, 'Refuse', 2],
  ['postgres.startup.refused', 'datastore', 3, 'Connect', 2],
  ['kubernetes.', 'apiActivity', 99, 'Other', null],
  ['web.recording.view', 'webResources', 2, 'Read', 1],
  ['web.recording.live', 'webResources', 2, 'Read', 1],
  ['web.recording.download', 'webResources', 7, 'Export', 1],
  ['web.', 'webResources', 7, 'Export', 1],
  ['gateway.start', 'lifecycle', 3, 'Start', 1],
  ['gateway.stop', 'lifecycle', 4, 'Stop', 1],
  ['protocol.violation', 'base', 99, 'Other', 2],
  ['audit.anchor.', 'base', 99, 'Other', 2],
];

export function ocsfClassOf(type: string): OcsfClass {
  const row = OCSF_MAPPING.find(([pattern]) => (pattern.endsWith('.') ? type.startsWith(pattern) : type === pattern));
  const [, key, activityId, activityName, status] = row ?? ['', 'base', 99, 'Other', null];
  const cls = CLASSES[key];
  return { ...cls, activity_id: activityId, activity_name: activityName, type_uid: cls.class_uid * 100 + activityId, status_id: status };
}

/** The OCSF classes of exports that are not audit events: statements and Kubernetes requests. */
export const OCSF_STATEMENT: OcsfClass = { ...CLASSES.datastore, activity_id: 4, activity_name: 'Query', type_uid: 600504, status_id: null };
