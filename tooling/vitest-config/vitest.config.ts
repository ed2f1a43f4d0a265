import { defineConfig } from 'vitest/config';
import { defineXConfig } from './index.js';

export default defineConfig(defineXConfig());
