"""Training and evaluation: the genre head on the pretrained trunk, the from-scratch reproduction,
the MFCC baseline and the ``musicsim evaluate`` report. Needs the ``train`` extra (scikit-learn,
matplotlib); nothing here is imported by the app or the analysis path."""
