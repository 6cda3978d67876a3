"""CMU-MOSEI: the SDK's .csd (HDF5) reader and writer, alignment, labels, folds, MMSA
pickles."""
