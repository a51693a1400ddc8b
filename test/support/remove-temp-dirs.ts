import { removeTempDirs } from './temp-dirs';

// At the root of every test file, so it runs after the file's describe blocks and their
// afterAll hooks have stopped whatever used the directories.
afterAll(removeTempDirs);
