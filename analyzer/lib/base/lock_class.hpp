// Lock classes, as the Linux kernel's lock validator has them: the locks of one array, one struct
// field or one allocation site are one class. A server with 4,000 bucket locks orders its buckets
// the same way everywhere; drawn one node per lock its lock-order graph is a hairball no layout
// engine finishes, drawn by class it is a handful of nodes (`buckets[*] ×4096`).
//
// A class is derived from what ravel knows of a lock, best first: the symbolized variable with
// its indices stripped (`forks[3]` -> `forks[*]`, `accounts[2].m` -> `accounts[*].m`); the site
// that first used it (the names ObjectNamer gives unnamed locks, "mutex at cache.c:42 #2", are
// that site numbered: the number goes); else the lock alone (a bare address is its own class).
#pragma once

#include <string>

namespace ravel {

// `name` with every array index replaced by `*` and a trailing clash number (" #2") dropped;
// `name` itself when there is nothing to strip.
std::string lockClassOfName(const std::string& name);

// The class of a lock named `name` whose first acquisition was at `firstSite` ("get_item
// cache.c:42", or empty when unknown): by name when the name is a variable's or a site's, else
// by the site ("at get_item cache.c:42"), else the name (its own class).
std::string lockClassOf(const std::string& name, const std::string& firstSite);

} // namespace ravel
