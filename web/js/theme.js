// Light or dark (web/css/theme-dark.css): the agent's choice kept in this browser, or the
// device's setting followed live ("system", the default).
const KEY = 'switchboard.theme';
const dark = window.matchMedia('(prefers-color-scheme: dark)');

export function themeChoice() { return localStorage.getItem(KEY) || 'system'; }

export function applyTheme(choice = themeChoice()) {
  const effective = choice === 'system' ? (dark.matches ? 'dark' : 'light') : choice;
  document.documentElement.dataset.theme = effective;
}

export function setTheme(choice) {
  localStorage.setItem(KEY, choice);
  applyTheme(choice);
}

dark.addEventListener('change', () => applyTheme());
applyTheme();
