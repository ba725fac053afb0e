package ingest

import "syscall"

// mapPopulate has mmap(2) set up the window's page tables at once (the
// pages are in the page cache already): one system call instead of a
// fault every 16 pages while the window is read.
const mapPopulate = syscall.MAP_POPULATE
