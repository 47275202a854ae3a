"""bayesbach: do recurrent networks trained to perceive noisy Bach learn to predict it?"""

__version__ = "0.1.0"
