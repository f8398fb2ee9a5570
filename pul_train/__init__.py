"""pul_train: unsupervised training of tracker backbones from unlabeled video (PUL, CVPR 2021).

Stages: EdgeBox proposals (:mod:`pul_train.proposals`), background-discrimination learning
(:mod:`pul_train.bd`) with anchor-based hard negative mining (:mod:`pul_train.ahm`), run by the
generic loop in :mod:`pul_train.trainer` from YAML recipes (:mod:`pul_train.recipe`).
"""
