let renderer: () => void = () => undefined;

export function onNavigate(render: () => void): void {
  renderer = render;
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  renderer();
}
