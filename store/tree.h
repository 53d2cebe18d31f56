/*
 * tree.h: appending leaves with the right edge of the tree kept in memory.
 * Appending leaf i reads the left sibling of every subtree it completes;
 * those are the perfect subtrees on the tree's right edge (one per set bit
 * of i), so a batch that remembers them reads none from the table after its
 * first leaf.
 */
#ifndef ST_TREE_H
#define ST_TREE_H

#include <stdint.h>

#include "db.h"
#include "merkle.h"

typedef struct st_tree_edge {
    uint64_t next;             /* the index the edge is for; edge[] valid only if next matches */
    uint64_t have;             /* bit l: edge[l] holds the level-l subtree ending at `next` */
    st_hash edge[64];
} st_tree_edge;

/* st_tree_append_leaf (store_int.h), taking siblings from e when it has them
 * and updating it. Zero-initialize e once per transaction. */
ST_NODISCARD int st_tree_append_leaf_edge(struct st_txn *txn, uint64_t index, const st_hash leaf_hash, st_tree_edge *e);

#endif
