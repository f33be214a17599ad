"""The face-verify family of Alibaba's API (InitFaceVerify, DescribeFaceVerify, ContrastFaceVerify …) as
use cases over the one decision core; domain/faceverify.py holds its rules."""
