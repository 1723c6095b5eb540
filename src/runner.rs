//! Running one job in a Node.js child process. (Owned by the scheduler work.)
