import './styles.css';
import { showHome } from './home.ts';
import { setupTheme } from './theme.ts';

setupTheme(document.querySelector<HTMLButtonElement>('.theme-toggle'));
const main = document.querySelector<HTMLElement>('#main');
if (main) void showHome(main);
