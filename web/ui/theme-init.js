// theme-init.js runs before the first paint (a classic script in <head>),
// so a stored light/dark choice never flashes the other theme.
try {
  var t = localStorage.getItem('meshmon.theme');
  if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
} catch (e) {
  // No storage: follow the system.
}
